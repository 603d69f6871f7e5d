"""How far llama.cpp's numbers move with the shape of a batch: the tolerances of the real-model tests.

llama.cpp picks its kernels by how many tokens a call evaluates (and repacked weights have kernels of
their own), and they round differently, so the same prompt and class give slightly different log-probs
when evaluated in other pieces, and a greedy answer can part at a near-tie. Each tolerance is about
three times the largest difference `perf/batch_drift.py` measured on the builds below; a mistake in
positions, sequences or normalization costs whole nats.

Largest differences seen (nats; AMD EPYC Zen 3, 2 cores, llama-cpp-python 0.3.36). First on the trap
items of task version 2 (three builds, 2026-11-30 morning):

| comparison                          | AVX2 build (native) | same, extra buffers off | AVX-only build |
|-------------------------------------|---------------------|-------------------------|----------------|
| one call vs batched, 1-token class  | 0.035               | 0.0000                  | 0.0000         |
| one call vs batched, multi-token    | 0.0093              | 0.0004                  | 0.0000         |
| one call vs stepwise, per token     | 0.131               | 0.068                   | 0.101          |
| f32 copy, any of the above          | 0.0024              | 0.0024                  | 0.0036         |
| greedy answers parting (margin)     | 4/15 answers, 0.19  | 0/15                    | 0/15           |

Then on the items of task version 3 (other gambles; 8 ten-shot items for the long prefix), the AVX2
build with its extra buffers on, 2026-11-30 afternoon:

| comparison                                          | quantized | f32 copy |
|-----------------------------------------------------|-----------|----------|
| one call vs batched, 1-token class                  | 0.087     | 0.0000   |
| one call vs batched, multi-token class              | 0.067     | 0.0007   |
| one call vs stepwise, per token                     | 0.099     | 0.0008   |
| long prefix: one call vs batched, 1-token class     | 0.129     | 0.0000   |
| long prefix: one call vs batched, multi-token class | 0.83      | 0.0007   |
| greedy answers parting                              | 0/15      |          |

The float32 copy agrees to 0.001 everywhere: bench's positions, sequences and cached prefix are
right, and what the quantized numbers show is the kernels' rounding (the same engine gave one
continuation 0.38 nats apart evaluated in one batch and token by token). It is largest for unlikely
multi-token continuations (log-probs near -15) after a long prefix, whose activations are rounded to
8 bits in other pieces.

(The AVX-only build: GGML_NATIVE, GGML_AVX2, GGML_FMA and GGML_LLAMAFILE off. On the Intel Xeon of
earlier sessions, an AVX-512 build, the first two rows stayed within 0.02 and the generation test saw
identical answers.)
"""

DRIFT_ONE_CALL = 0.4
"""bench's one call (prompt and every class) against prompt + class in one fresh batch, per class
(about three times the 0.129 seen on one-token classes)."""
DRIFT_LONG_MULTI = 2.5
"""The same for a multi-token class after a long cached prefix (three times the 0.83 seen); the
float32 check (DRIFT_F32) is the one that would see a mistake there."""
DRIFT_PER_TOKEN = 0.4
"""Against the prompt in one batch and the class one token at a time, per token of the class."""
DRIFT_F32 = 0.01
"""The same comparisons on the float32 copy (`--weights f32`), where batch shapes hardly matter."""
NEAR_TIE = 0.5
"""Margin (log-prob of one token minus the other's) below which two greedy answers may part."""
