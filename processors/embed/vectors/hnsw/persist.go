package hnsw

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/fairstream/fairstream/processors/embed/vectors"
)

// File format, one file per collection, <dir>/<name>.hnsw, little-endian:
//
//	magic "FSHNSW\x00\x01"
//	dims, m, efConstruction, nodes: uvarint; entry: varint; top: uvarint
//	per node: dead byte; if live: ID, DocumentID, Source, Worker, Speaker,
//	  Language, Text (uvarint length + bytes), Time varint, Start, End varint;
//	  vector: dims float32; layers: uvarint; per layer: uvarint n, n uvarint links
//	CRC-32C of everything before it, 4 bytes
//
// The graph is stored as built, so loading needs no rebuild.
const (
	magic  = "FSHNSW\x00\x01"
	suffix = ".hnsw"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

type encoder struct {
	w   *bufio.Writer
	buf [binary.MaxVarintLen64]byte
}

func (e *encoder) uvarint(x uint64) { e.w.Write(e.buf[:binary.PutUvarint(e.buf[:], x)]) }
func (e *encoder) varint(x int64)   { e.w.Write(e.buf[:binary.PutVarint(e.buf[:], x)]) }
func (e *encoder) str(s string)     { e.uvarint(uint64(len(s))); e.w.WriteString(s) }

// save writes the collection to dir atomically: a temporary file, synced,
// renamed over the old one, and the directory synced. Caller holds c.mu for
// reading.
func (c *collection) save(dir string) error {
	tmp, err := os.CreateTemp(dir, c.name+suffix+".tmp*")
	if err != nil {
		return fmt.Errorf("saving %s: %w", c.name, err)
	}
	defer os.Remove(tmp.Name()) // after the rename, a no-op
	crc := crc32.New(castagnoli)
	bw := bufio.NewWriterSize(io.MultiWriter(tmp, crc), 1<<20)
	e := &encoder{w: bw}
	g := c.g
	bw.WriteString(magic)
	e.uvarint(uint64(g.dims))
	e.uvarint(uint64(g.m))
	e.uvarint(uint64(g.efC))
	e.uvarint(uint64(g.len()))
	e.varint(int64(g.entry))
	e.uvarint(uint64(g.top))
	var f4 [4]byte
	for i := range int32(g.len()) {
		if c.dead[i] {
			bw.WriteByte(1)
		} else {
			bw.WriteByte(0)
			r := c.recs[i]
			for _, s := range []string{r.ID, r.DocumentID, r.Source, r.Worker, r.Speaker, r.Language, r.Text} {
				e.str(s)
			}
			e.varint(r.Time)
			e.varint(int64(r.Start))
			e.varint(int64(r.End))
		}
		for _, x := range g.vec(i) {
			binary.LittleEndian.PutUint32(f4[:], math.Float32bits(x))
			bw.Write(f4[:])
		}
		e.uvarint(uint64(len(g.links[i])))
		for _, ls := range g.links[i] {
			e.uvarint(uint64(len(ls)))
			for _, n := range ls {
				e.uvarint(uint64(n))
			}
		}
	}
	if err := bw.Flush(); err != nil {
		tmp.Close()
		return fmt.Errorf("saving %s: %w", c.name, err)
	}
	binary.LittleEndian.PutUint32(f4[:], crc.Sum32())
	if _, err := tmp.Write(f4[:]); err != nil {
		tmp.Close()
		return fmt.Errorf("saving %s: %w", c.name, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("saving %s: %w", c.name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("saving %s: %w", c.name, err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, c.name+suffix)); err != nil {
		return fmt.Errorf("saving %s: %w", c.name, err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	return nil
}

// decoder reads the format, keeping the first error and hashing what it reads.
type decoder struct {
	r   *bufio.Reader
	crc hash.Hash32
	err error
}

func (d *decoder) ReadByte() (byte, error) {
	b, err := d.r.ReadByte()
	if err == nil {
		d.crc.Write([]byte{b})
	}
	return b, err
}

func (d *decoder) read(p []byte) {
	if d.err != nil {
		return
	}
	if _, err := io.ReadFull(d.r, p); err != nil {
		d.err = err
		return
	}
	d.crc.Write(p)
}

func (d *decoder) uvarint(limit uint64) uint64 {
	if d.err != nil {
		return 0
	}
	x, err := binary.ReadUvarint(d)
	if err == nil && x > limit {
		err = fmt.Errorf("value %d over %d", x, limit)
	}
	if err != nil {
		d.err = err
		return 0
	}
	return x
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	x, err := binary.ReadVarint(d)
	if err != nil {
		d.err = err
	}
	return x
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	b, err := d.ReadByte()
	if err != nil {
		d.err = err
	}
	return b
}

func (d *decoder) str() string {
	n := d.uvarint(1 << 26)
	if d.err != nil {
		return ""
	}
	b := make([]byte, n)
	d.read(b)
	return string(b)
}

// load reads a collection file written by save.
func load(path, name string) (*collection, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	d := &decoder{r: bufio.NewReaderSize(f, 1<<20), crc: crc32.New(castagnoli)}
	mg := make([]byte, len(magic))
	d.read(mg)
	if d.err == nil && string(mg) != magic {
		return nil, fmt.Errorf("%s: not a fairstream HNSW file (or another version)", path)
	}
	dims := int(d.uvarint(32768))
	m := int(d.uvarint(1 << 16))
	efC := int(d.uvarint(1 << 20))
	n := int(d.uvarint(math.MaxInt32))
	entry := int32(d.varint())
	top := int(d.uvarint(64))
	if d.err != nil {
		return nil, fmt.Errorf("%s: header: %w", path, d.err)
	}
	c := &collection{name: name, dims: dims, byID: make(map[string]int32, n)}
	// The file's M and efConstruction describe its graph; new nodes use them
	// too so that the graph stays uniform. A changed Config applies to new
	// collections (or after a compaction).
	g := newGraph(dims, m, efC, seedOf(name)^uint64(n))
	g.entry, g.top = entry, top
	g.vecs = make([]float32, n*dims)
	g.links = make([][][]int32, n)
	c.recs = make([]vectors.Record, n)
	c.dead = make([]bool, n)
	vb := make([]byte, 4*dims)
	for i := range n {
		if d.byte() == 1 {
			c.dead[i] = true
			c.ndead++
		} else {
			var r vectors.Record
			for _, s := range []*string{&r.ID, &r.DocumentID, &r.Source, &r.Worker, &r.Speaker, &r.Language, &r.Text} {
				*s = d.str()
			}
			r.Time = d.varint()
			r.Start = int32(d.varint())
			r.End = int32(d.varint())
			c.recs[i] = r
			c.byID[r.ID] = int32(i)
		}
		d.read(vb)
		for j := range dims {
			g.vecs[i*dims+j] = math.Float32frombits(binary.LittleEndian.Uint32(vb[4*j:]))
		}
		layers := make([][]int32, d.uvarint(64))
		for l := range layers {
			ls := make([]int32, d.uvarint(1<<16))
			for j := range ls {
				ls[j] = int32(d.uvarint(uint64(n - 1)))
			}
			layers[l] = ls
		}
		g.links[i] = layers
		if d.err != nil {
			return nil, fmt.Errorf("%s: node %d: %w", path, i, d.err)
		}
	}
	want := d.crc.Sum32()
	var sum [4]byte
	if _, err := io.ReadFull(d.r, sum[:]); err != nil {
		return nil, fmt.Errorf("%s: checksum: %w", path, err)
	}
	if got := binary.LittleEndian.Uint32(sum[:]); got != want {
		return nil, fmt.Errorf("%s: checksum mismatch (the file is damaged)", path)
	}
	if _, err := d.r.ReadByte(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: data after the checksum", path)
	}
	if n > 0 && (entry < 0 || int(entry) >= n || len(g.links[entry]) != top+1) {
		return nil, fmt.Errorf("%s: bad entry point %d", path, entry)
	}
	c.g = g
	c.version, c.saved = 1, 1
	return c, nil
}
