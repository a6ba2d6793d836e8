"""Were the school's gates healthy? The evidence the collector records in the store (evidence.py), the verdict the
notifier and the web app draw from it (judge.py), and the absence batches held when it says no (holds.py)."""
