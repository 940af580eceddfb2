"""The math core: activations, losses, layers, the network's forward and
backward passes, optimizers and initialisers, written once in Array API calls."""
