"""The emulator's endpoints, one module per API; ``app.py`` puts them in its route table."""
