"""Training: the Trainer loop and runs (config → run folder → trained model)."""
