"""Analysis: metrics of trained autoencoders (reconstruction error, PSNR, sparsity, ...)."""
