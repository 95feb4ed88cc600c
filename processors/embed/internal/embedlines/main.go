// Command embedlines embeds each line of its input with the in-process
// model and writes the vectors as raw little-endian float32 (384 per
// line): the "real" vectors of the vector-store benchmark
// (FAIRSTREAM_BENCH_VECTORS, see docs/benchmarks.md).
//
//	go run ./processors/embed/internal/embedlines < corpus.txt > vectors.f32
package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"strings"
	"time"

	"github.com/fairstream/fairstream/processors/embed/model"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "embedlines:", err)
		os.Exit(1)
	}
}

func run() error {
	m, err := model.Load(model.DefaultModelDir())
	if err != nil {
		return err
	}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	var batch []string
	n, start := 0, time.Now()
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		vecs, err := m.Embed(context.Background(), batch)
		if err != nil {
			return err
		}
		var b [4]byte
		for _, v := range vecs {
			for _, x := range v {
				binary.LittleEndian.PutUint32(b[:], math.Float32bits(x))
				if _, err := out.Write(b[:]); err != nil {
					return err
				}
			}
		}
		n += len(batch)
		batch = batch[:0]
		if n%5000 < 256 {
			fmt.Fprintf(os.Stderr, "embedlines: %d lines, %.0f/s\n", n, float64(n)/time.Since(start).Seconds())
		}
		return nil
	}
	for in.Scan() {
		if line := strings.TrimSpace(in.Text()); line != "" {
			batch = append(batch, line)
		}
		if len(batch) == 256 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := in.Err(); err != nil {
		return err
	}
	if err := flush(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "embedlines: %d vectors of %d dimensions\n", n, m.Dimensions())
	return nil
}
