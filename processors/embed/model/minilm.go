package model

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/nlpodyssey/safetensors"
)

// MiniLMName is the name of the in-process model, as Name reports it.
const MiniLMName = "all-MiniLM-L6-v2"

// The shape all-MiniLM-L6-v2 has; Load refuses a config.json that differs.
const (
	miniLMLayers       = 6
	miniLMHidden       = 384
	miniLMHeads        = 12
	miniLMIntermediate = 1536
	miniLMMaxSeq       = 256
)

// fetchHint says how to get the model files; every missing-file error ends
// with it.
const fetchHint = "fetch the model with `deploy/local/fetch-model` (or `make models`)"

// MiniLM is all-MiniLM-L6-v2 (sentence-transformers) run in-process: the
// WordPiece tokenizer, a 6-layer BERT encoder, mean pooling over the
// tokens and L2 normalisation. Its vectors have 384 dimensions.
//
// A MiniLM is immutable after Load; it is safe for concurrent use.
type MiniLM struct {
	tok       *wordPiece
	batchSize int
	workers   int

	hidden, heads, headDim, inter int
	eps                           float32

	wordEmb, posEmb, typeEmb []float32 // [vocab×H], [maxPos×H], [H] (type 0)
	embLNg, embLNb           []float32
	layers                   []encoderLayer

	pool sync.Pool // *workspace
}

// encoderLayer holds one layer's weights, transposed at load to [in×out]
// so that every projection is a plain row-major X·W.
type encoderLayer struct {
	wqkv       packedMatrix // [H × 3H]: query, key, value side by side
	wo         packedMatrix // [H × H]
	w1         packedMatrix // [H × I]
	w2         packedMatrix // [I × H]
	bqkv, bo   []float32
	b1, b2     []float32
	ln1g, ln1b []float32
	ln2g, ln2b []float32
}

var _ Embedder = (*MiniLM)(nil)

// LoadOption adjusts Load.
type LoadOption func(*MiniLM)

// WithBatchSize sets how many texts one forward pass takes (default 32).
func WithBatchSize(n int) LoadOption {
	return func(m *MiniLM) {
		if n > 0 {
			m.batchSize = n
		}
	}
}

// WithWorkers sets how many goroutines one forward pass uses (default
// GOMAXPROCS).
func WithWorkers(n int) LoadOption {
	return func(m *MiniLM) {
		if n > 0 {
			m.workers = n
		}
	}
}

// Load reads all-MiniLM-L6-v2 from dir, a folder laid out as
// sentence-transformers saves it (what deploy/local/fetch-model
// installs): config.json, sentence_bert_config.json, tokenizer_config.json,
// vocab.txt and model.safetensors. It checks the architecture and the
// shape of every tensor it uses.
func Load(dir string, opts ...LoadOption) (*MiniLM, error) {
	if dir == "" {
		dir = DefaultModelDir()
	}
	var cfg struct {
		ModelType     string  `json:"model_type"`
		Hidden        int     `json:"hidden_size"`
		Layers        int     `json:"num_hidden_layers"`
		Heads         int     `json:"num_attention_heads"`
		Intermediate  int     `json:"intermediate_size"`
		HiddenAct     string  `json:"hidden_act"`
		Eps           float64 `json:"layer_norm_eps"`
		VocabSize     int     `json:"vocab_size"`
		MaxPositions  int     `json:"max_position_embeddings"`
		TypeVocabSize int     `json:"type_vocab_size"`
		PositionType  string  `json:"position_embedding_type"`
	}
	if err := readJSON(dir, "config.json", &cfg); err != nil {
		return nil, err
	}
	if cfg.ModelType != "bert" || cfg.Hidden != miniLMHidden || cfg.Layers != miniLMLayers ||
		cfg.Heads != miniLMHeads || cfg.Intermediate != miniLMIntermediate || cfg.HiddenAct != "gelu" ||
		(cfg.PositionType != "" && cfg.PositionType != "absolute") {
		return nil, fmt.Errorf("%s: not all-MiniLM-L6-v2 (want bert, hidden 384, 6 layers, 12 heads, intermediate 1536, gelu, absolute positions; got %s, %d, %d, %d, %d, %s, %s)",
			filepath.Join(dir, "config.json"), cfg.ModelType, cfg.Hidden, cfg.Layers, cfg.Heads, cfg.Intermediate, cfg.HiddenAct, cfg.PositionType)
	}
	var st struct {
		MaxSeq int `json:"max_seq_length"`
	}
	if err := readJSON(dir, "sentence_bert_config.json", &st); err != nil {
		return nil, err
	}
	if st.MaxSeq < 3 || st.MaxSeq > cfg.MaxPositions {
		return nil, fmt.Errorf("%s: max_seq_length %d is outside [3, %d]", filepath.Join(dir, "sentence_bert_config.json"), st.MaxSeq, cfg.MaxPositions)
	}
	tc := struct {
		Lower *bool `json:"do_lower_case"`
	}{}
	if err := readJSON(dir, "tokenizer_config.json", &tc); err != nil {
		return nil, err
	}
	lower := tc.Lower == nil || *tc.Lower
	vocab, err := loadVocab(filepath.Join(dir, "vocab.txt"))
	if err != nil {
		return nil, missing(dir, "vocab.txt", err)
	}
	for tok, id := range vocab {
		if int(id) >= cfg.VocabSize {
			return nil, fmt.Errorf("%s: token %q has ID %d, beyond config.json's vocab_size %d", filepath.Join(dir, "vocab.txt"), tok, id, cfg.VocabSize)
		}
	}
	tok, err := newWordPiece(vocab, lower, st.MaxSeq)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "vocab.txt"), err)
	}

	m := &MiniLM{
		tok:       tok,
		batchSize: 32,
		workers:   runtime.GOMAXPROCS(0),
		hidden:    cfg.Hidden,
		heads:     cfg.Heads,
		headDim:   cfg.Hidden / cfg.Heads,
		inter:     cfg.Intermediate,
		eps:       float32(cfg.Eps),
	}
	for _, o := range opts {
		o(m)
	}
	if err := m.loadWeights(filepath.Join(dir, "model.safetensors"), cfg.VocabSize, cfg.MaxPositions, cfg.TypeVocabSize, st.MaxSeq); err != nil {
		return nil, err
	}
	m.pool.New = func() any { return new(workspace) }
	return m, nil
}

func readJSON(dir, name string, v any) error {
	path := filepath.Join(dir, name)
	b, err := os.ReadFile(path)
	if err != nil {
		return missing(dir, name, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func missing(dir, name string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("model file %s is missing (is %s an %s model folder?): %s: %w",
			name, dir, MiniLMName, fetchHint, err)
	}
	return fmt.Errorf("reading model file %s: %w", filepath.Join(dir, name), err)
}

// loadWeights reads model.safetensors, checks every tensor it needs and
// lays the weights out for the forward pass.
func (m *MiniLM) loadWeights(path string, vocab, maxPos, types, maxSeq int) error {
	buf, err := os.ReadFile(path)
	if err != nil {
		return missing(filepath.Dir(path), filepath.Base(path), err)
	}
	st, err := safetensors.Deserialize(buf)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	var errs []error
	get := func(name string, shape ...int) []float32 {
		tv, ok := st.Tensor(name)
		if !ok {
			// Some exports prefix the BERT tensors with "bert.".
			tv, ok = st.Tensor("bert." + name)
		}
		if !ok {
			errs = append(errs, fmt.Errorf("tensor %s is missing", name))
			return nil
		}
		if tv.DType() != safetensors.F32 {
			errs = append(errs, fmt.Errorf("tensor %s is %s, want F32", name, tv.DType()))
			return nil
		}
		got := tv.Shape()
		same := len(got) == len(shape)
		for i := 0; same && i < len(got); i++ {
			same = got[i] == uint64(shape[i])
		}
		if !same {
			errs = append(errs, fmt.Errorf("tensor %s has shape %v, want %v", name, got, shape))
			return nil
		}
		data := tv.Data()
		out := make([]float32, len(data)/4)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
		}
		return out
	}
	H, I := m.hidden, m.inter
	m.wordEmb = get("embeddings.word_embeddings.weight", vocab, H)
	pos := get("embeddings.position_embeddings.weight", maxPos, H)
	if pos != nil {
		m.posEmb = pos[:maxSeq*H]
	}
	typ := get("embeddings.token_type_embeddings.weight", types, H)
	if typ != nil {
		m.typeEmb = typ[:H]
	}
	m.embLNg = get("embeddings.LayerNorm.weight", H)
	m.embLNb = get("embeddings.LayerNorm.bias", H)
	m.layers = make([]encoderLayer, miniLMLayers)
	for i := range m.layers {
		p := fmt.Sprintf("encoder.layer.%d.", i)
		l := &m.layers[i]
		q := get(p+"attention.self.query.weight", H, H)
		k := get(p+"attention.self.key.weight", H, H)
		v := get(p+"attention.self.value.weight", H, H)
		bq := get(p+"attention.self.query.bias", H)
		bk := get(p+"attention.self.key.bias", H)
		bv := get(p+"attention.self.value.bias", H)
		if q != nil && k != nil && v != nil {
			wqkv := make([]float32, H*3*H)
			transposeInto(wqkv, q, H, H, 3*H, 0)
			transposeInto(wqkv, k, H, H, 3*H, H)
			transposeInto(wqkv, v, H, H, 3*H, 2*H)
			l.wqkv = pack(wqkv, H, 3*H)
			l.bqkv = append(append(append(make([]float32, 0, 3*H), bq...), bk...), bv...)
		}
		l.wo = packed(get(p+"attention.output.dense.weight", H, H), H, H)
		l.bo = get(p+"attention.output.dense.bias", H)
		l.ln1g = get(p+"attention.output.LayerNorm.weight", H)
		l.ln1b = get(p+"attention.output.LayerNorm.bias", H)
		l.w1 = packed(get(p+"intermediate.dense.weight", I, H), I, H)
		l.b1 = get(p+"intermediate.dense.bias", I)
		l.w2 = packed(get(p+"output.dense.weight", H, I), H, I)
		l.b2 = get(p+"output.dense.bias", H)
		l.ln2g = get(p+"output.LayerNorm.weight", H)
		l.ln2b = get(p+"output.LayerNorm.bias", H)
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s is not an %s checkpoint: %w", path, MiniLMName, errors.Join(errs...))
	}
	return nil
}

// packed transposes w, a PyTorch Linear weight [out=rows × in=cols], to
// [in×out] and packs it for matmul.
func packed(w []float32, rows, cols int) packedMatrix {
	if w == nil {
		return packedMatrix{}
	}
	t := make([]float32, len(w))
	transposeInto(t, w, rows, cols, rows, 0)
	return pack(t, cols, rows)
}

// transposeInto writes the transpose of w [rows×cols] into dst, a matrix
// with row stride stride, starting at column col.
func transposeInto(dst, w []float32, rows, cols, stride, col int) {
	for r := range rows {
		for c := range cols {
			dst[c*stride+col+r] = w[r*cols+c]
		}
	}
}

// Name is "all-MiniLM-L6-v2".
func (m *MiniLM) Name() string { return MiniLMName }

// Dimensions is 384.
func (m *MiniLM) Dimensions() int { return m.hidden }

// MaxTokens is how many word pieces of a text the model sees: the
// max_seq_length of sentence_bert_config.json (256) less [CLS] and [SEP].
// Embed drops the rest; a chunker keeps chunks within it.
func (m *MiniLM) MaxTokens() int { return m.tok.maxTokens }

// Tokenize returns the model input for text: [CLS], its first MaxTokens
// word-piece IDs, [SEP].
func (m *MiniLM) Tokenize(text string) []int {
	ids := m.tok.ids(text)
	out := make([]int, len(ids))
	for i, id := range ids {
		out[i] = int(id)
	}
	return out
}

// CountTokens is the number of word pieces in text, untruncated and
// without [CLS]/[SEP]: len(TokenSpans(text)).
func (m *MiniLM) CountTokens(text string) int { return len(m.tok.pieces(text)) }

// TokenSpans splits text into its word pieces (untruncated, without
// [CLS]/[SEP]) and returns where each lies in text, in code points. A
// word WordPiece cannot split is one [UNK] spanning the word; consecutive
// pieces of one word have touching spans. Text between spans (whitespace,
// dropped control characters) belongs to no token.
func (m *MiniLM) TokenSpans(text string) []Span {
	ps := m.tok.pieces(text)
	out := make([]Span, len(ps))
	for i, p := range ps {
		out[i] = p.span
	}
	return out
}

// Embed returns one normalised 384-dimensional vector per text, in order.
// Texts longer than MaxTokens word pieces are truncated. It checks ctx
// between batches and between layers.
func (m *MiniLM) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	flat := make([]float32, len(texts)*m.hidden)
	for i := range out {
		out[i] = flat[i*m.hidden : (i+1)*m.hidden : (i+1)*m.hidden]
	}
	ws := m.pool.Get().(*workspace)
	defer m.pool.Put(ws)
	for lo := 0; lo < len(texts); lo += m.batchSize {
		hi := min(lo+m.batchSize, len(texts))
		seqs := make([][]int32, hi-lo)
		for i, t := range texts[lo:hi] {
			seqs[i] = m.tok.ids(t)
		}
		if err := m.forward(ctx, ws, seqs, out[lo:hi]); err != nil {
			return nil, err
		}
	}
	return out, nil
}
