"""Helpers shared by the tests: the demo bot's path, emulators, clients, fake servers and runners."""
