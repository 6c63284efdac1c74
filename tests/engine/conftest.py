import os
import sys

# Make the engine test helpers importable whatever the package layout of tests/ becomes.
sys.path.insert(0, os.path.dirname(__file__))
