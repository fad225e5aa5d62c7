"""FastPitch (DLE) written with trtnet ops: FFT transformer, predictors, length regulator, networks."""
