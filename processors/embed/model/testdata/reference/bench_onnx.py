"""ONNX Runtime baseline for BenchmarkMiniLM (see docs/benchmarks.md at the repository root).

Runs the same sentences (../bench/sentences.txt) through all-MiniLM-L6-v2
exported to ONNX, in batches of 32 padded to the longest sentence of the
batch: the Rust tokenizer (tokenizer.json, truncation to 256), ONNX Runtime
on a fixed number of threads, then mean pooling over the attention mask and
L2 normalisation in numpy. Reports sentences/s.

  python bench_onnx.py --export MODEL_DIR ONNX_DIR   # once: torch.onnx.export
  python bench_onnx.py [--threads 2] [--seconds 10] MODEL_DIR ONNX_DIR
"""

import argparse
import os
import shutil
import sys
import time

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def export(model_dir: str, onnx_dir: str) -> None:
    import torch
    from transformers import AutoModel

    bert = AutoModel.from_pretrained(model_dir, local_files_only=True).eval()

    class Encoder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.bert(input_ids=input_ids, attention_mask=attention_mask,
                             token_type_ids=token_type_ids).last_hidden_state

    model = Encoder().eval()
    os.makedirs(onnx_dir, exist_ok=True)
    ids = torch.ones((2, 16), dtype=torch.long)
    mask = torch.ones((2, 16), dtype=torch.long)
    types = torch.zeros((2, 16), dtype=torch.long)
    path = os.path.join(onnx_dir, "model.onnx")
    with torch.no_grad():
        torch.onnx.export(
            model, (ids, mask, types), path,
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["last_hidden_state"],
            dynamic_axes={n: {0: "batch", 1: "seq"} for n in
                          ["input_ids", "attention_mask", "token_type_ids", "last_hidden_state"]},
            opset_version=17, dynamo=False)
    shutil.copy(os.path.join(model_dir, "tokenizer.json"), onnx_dir)
    print(f"exported {path} with torch {torch.__version__}", file=sys.stderr)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--export", action="store_true")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("model_dir")
    p.add_argument("onnx_dir")
    a = p.parse_args()
    if a.export:
        export(a.model_dir, a.onnx_dir)
        return

    import onnxruntime as ort
    from tokenizers import Tokenizer

    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "..", "bench", "sentences.txt"), encoding="utf-8") as f:
        texts = [line.strip() for line in f if line.strip()]

    tok = Tokenizer.from_file(os.path.join(a.onnx_dir, "tokenizer.json"))
    tok.enable_truncation(max_length=256)
    tok.enable_padding(pad_id=0, pad_token="[PAD]")
    so = ort.SessionOptions()
    so.intra_op_num_threads = a.threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(os.path.join(a.onnx_dir, "model.onnx"), so,
                                providers=["CPUExecutionProvider"])

    def embed(batch):
        enc = tok.encode_batch(batch)
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
        out = sess.run(None, {"input_ids": ids, "attention_mask": mask,
                              "token_type_ids": np.zeros_like(ids)})[0]
        m = mask[:, :, None].astype(np.float32)
        v = (out * m).sum(1) / np.clip(m.sum(1), 1e-9, None)
        return v / np.clip(np.linalg.norm(v, axis=1, keepdims=True), 1e-12, None)

    def run_all():
        return np.concatenate([embed(texts[i:i + a.batch]) for i in range(0, len(texts), a.batch)])

    # The export must compute what the reference does: check it on the
    # reference sentences that fit (vectors.jsonl), then warm up.
    import json
    with open(os.path.join(here, "vectors.jsonl"), encoding="utf-8") as f:
        refs = [json.loads(line) for line in f]
    got = embed([r["sentence"] for r in refs])
    want = np.array([r["vector"] for r in refs], dtype=np.float32)
    cos = (got * want).sum(1) / np.linalg.norm(want, axis=1)
    print(f"ONNX export vs reference: min cosine {cos.min():.7f} over {len(refs)} sentences",
          file=sys.stderr)
    run_all()
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < a.seconds:
        run_all()
        n += len(texts)
    el = time.perf_counter() - start
    print(f"onnxruntime {ort.__version__}, {a.threads} threads, batch {a.batch}: "
          f"{n} sentences in {el:.2f} s = {n / el:.1f} sentences/s")


if __name__ == "__main__":
    main()
