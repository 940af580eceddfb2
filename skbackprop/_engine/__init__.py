"""The training engine: the frozen spec in, the fitted record out, and the
parts between (the data, the starting network, the loop, the steps, lbfgs, the
monitor, the guard, schedules, callback tasks, fused kernels)."""
