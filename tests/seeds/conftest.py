"""Make `seedlib` (the helpers shared by the seed oracles) importable under any pytest import mode."""
import sys
from pathlib import Path

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)
