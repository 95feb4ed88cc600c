"""Reference vectors and tokens for processors/embed/model's tests.

Runs the official sentence-transformers implementation of all-MiniLM-L6-v2
(the files deploy/local/fetch-model unpacks; local files only, no network)
over sentences.txt (one JSON string per line) and writes vectors.jsonl: one
JSON object per sentence with
  sentence   the text
  token_ids  the model input IDs ([CLS] ... [SEP], truncated to max_seq_length)
  offsets    each token's [start, end) in code points of the sentence
             (the fast tokenizer's offset mapping; [0, 0] for [CLS]/[SEP])
  vector     the normalised embedding, 384 floats with 9 significant digits

Usage (see README.md): python make_reference.py MODEL_DIR
"""

import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import sentence_transformers  # noqa: E402
import torch  # noqa: E402
from sentence_transformers import SentenceTransformer  # noqa: E402


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: make_reference.py MODEL_DIR")
    here = os.path.dirname(os.path.abspath(__file__))
    model = SentenceTransformer(sys.argv[1], device="cpu", local_files_only=True)
    with open(os.path.join(here, "sentences.txt"), encoding="utf-8") as f:
        sentences = [json.loads(line) for line in f if line.strip()]
    tok = model.tokenizer
    vectors = model.encode(sentences, batch_size=16, convert_to_numpy=True,
                           normalize_embeddings=True)
    with open(os.path.join(here, "vectors.jsonl"), "w", encoding="utf-8") as out:
        for s, v in zip(sentences, vectors):
            enc = tok(s, truncation=True, max_length=model.max_seq_length,
                      return_offsets_mapping=True)
            out.write(json.dumps({
                "sentence": s,
                "token_ids": enc["input_ids"],
                "offsets": [list(o) for o in enc["offset_mapping"]],
                "vector": [float(f"{x:.9g}") for x in v.tolist()],
            }, ensure_ascii=False) + "\n")
    print(f"wrote {len(sentences)} vectors with sentence-transformers "
          f"{sentence_transformers.__version__}, torch {torch.__version__}, "
          f"max_seq_length {model.max_seq_length}", file=sys.stderr)


if __name__ == "__main__":
    main()
