"""Load benchmark: N concurrent /dial against our app and a Bolt-guide baseline."""
