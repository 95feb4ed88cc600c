// Package model holds the embedding models of the embed stage: the
// sentence embedding model all-MiniLM-L6-v2 run in-process in pure Go
// (MiniLM), and a client for any OpenAI-compatible POST /v1/embeddings
// endpoint (OpenAI). Both implement Embedder; New picks one from Config.
//
// # The in-process model
//
// Load reads the files sentence-transformers publishes for
// all-MiniLM-L6-v2 (deploy/local/fetch-model installs them under
// ${FAIRSTREAM_CACHE:-$HOME/.cache/fairstream}/models/all-MiniLM-L6-v2):
// config.json, sentence_bert_config.json (max_seq_length 256),
// tokenizer_config.json, vocab.txt and model.safetensors, parsed with
// github.com/nlpodyssey/safetensors. Every tensor is checked against the
// shape the architecture needs.
//
// The tokenizer is written here, over vocab.txt: BERT's basic tokenisation
// exactly as the Rust tokenizers' BertNormalizer and BertPreTokenizer do it
// (drop control characters, whitespace to spaces, CJK ideographs isolated,
// NFD and accent stripping, lower-casing, split on whitespace and
// punctuation), then greedy longest-match WordPiece, [CLS]/[SEP], and
// truncation to 254 word pieces. An existing Go port
// (github.com/sugarme/tokenizer) was not used: the embed stage's chunker
// needs each token's span in code points of the original text through
// normalisation (NFD expands characters, control characters vanish), which
// is simplest to keep exact when the normaliser is ours, and the port
// would pull in its own dependencies (a progress bar, regexp sets) for
// about 200 lines of well-specified code. The tests compare token IDs and
// offsets with the official tokenizer's output for every reference
// sentence.
//
// The forward pass is BERT in float32: embeddings (word + position +
// token type 0) and LayerNorm, 6 encoder layers (fused QKV projection,
// 12-head softmax attention, output projection, residual and LayerNorm,
// GELU (erf) feed-forward of 1536, residual and LayerNorm; eps 1e-12),
// mean pooling over each text's tokens and L2 normalisation. A batch is
// packed, not padded: all its tokens are the rows of one matrix, every
// projection is one matrix product, and attention runs per text over its
// own rows, which is exactly BERT with an attention mask minus the work on
// padding. The products use a blocked GEMM over weights transposed and
// packed into 16-column panels at load, with an AVX-512 (12×16) or
// AVX2/FMA (6×16) micro-kernel in Go assembly, or a portable Go kernel on
// other CPUs; rows are split across GOMAXPROCS goroutines. GELU and the
// softmax use float32 rational/polynomial erf and exp (a few ulps).
// Activations live in a pooled workspace, so concurrent Embed calls share
// nothing but the read-only weights. Vectors match sentence-transformers
// to a cosine of 0.999999+ (testdata/reference); docs/benchmarks.md compares
// the speed with ONNX Runtime.
//
// TokenSpans, CountTokens and MaxTokens let a chunker cut text into
// pieces the model sees whole.
package model
