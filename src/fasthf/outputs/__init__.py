"""What is made of the model's outputs: prediction, metrics, decisions, the blend, the submission."""
