"""What the notebooks measure and draw: the approaches, timelines, experiments, costs and plots (notebooks 07–08)."""
