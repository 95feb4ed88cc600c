package analytics

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"
)

// decodeRowBinary reads ClickHouse's RowBinaryWithNamesAndTypes output: the
// format chDB answers in, exact for every value (no text round trip for
// floats, no UTF-8 repair of binary strings).
func decodeRowBinary(buf []byte) (*Result, error) {
	r := &rbReader{buf: buf}
	res := &Result{}
	if len(buf) == 0 {
		return res, nil
	}
	n, err := r.uvarint()
	if err != nil {
		return nil, fmt.Errorf("column count: %w", err)
	}
	if n > 1<<16 {
		return nil, fmt.Errorf("column count %d is implausible", n)
	}
	res.Columns = make([]Column, n)
	types := make([]*chType, n)
	for i := range res.Columns {
		if res.Columns[i].Name, err = r.str(); err != nil {
			return nil, fmt.Errorf("column %d name: %w", i, err)
		}
	}
	for i := range res.Columns {
		if res.Columns[i].Type, err = r.str(); err != nil {
			return nil, fmt.Errorf("column %d type: %w", i, err)
		}
		if types[i], err = parseType(res.Columns[i].Type); err != nil {
			return nil, err
		}
	}
	for r.i < len(r.buf) {
		row := make([]any, n)
		for i, t := range types {
			if row[i], err = r.value(t); err != nil {
				return nil, fmt.Errorf("row %d, column %s: %w", len(res.Rows), res.Columns[i].Name, err)
			}
		}
		res.Rows = append(res.Rows, row)
	}
	return res, nil
}

type rbReader struct {
	buf []byte
	i   int
}

func (r *rbReader) next(n int) ([]byte, error) {
	if n < 0 || r.i+n > len(r.buf) {
		return nil, io.ErrUnexpectedEOF
	}
	b := r.buf[r.i : r.i+n]
	r.i += n
	return b, nil
}

func (r *rbReader) uvarint() (uint64, error) {
	v, n := binary.Uvarint(r.buf[r.i:])
	if n <= 0 {
		return 0, errors.New("bad varint")
	}
	r.i += n
	return v, nil
}

func (r *rbReader) str() (string, error) {
	n, err := r.uvarint()
	if err != nil {
		return "", err
	}
	if n > uint64(len(r.buf)-r.i) {
		return "", io.ErrUnexpectedEOF
	}
	b, err := r.next(int(n))
	return string(b), err
}

func (r *rbReader) fixed(n int) (uint64, error) {
	b, err := r.next(n)
	if err != nil {
		return 0, err
	}
	var v uint64
	for i := n - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v, nil
}

func (r *rbReader) value(t *chType) (any, error) {
	switch t.name {
	case "Nullable":
		flag, err := r.next(1)
		if err != nil {
			return nil, err
		}
		if flag[0] != 0 {
			return nil, nil
		}
		return r.value(t.elems[0])
	case "LowCardinality":
		return r.value(t.elems[0])
	case "UInt8", "UInt16", "UInt32", "UInt64":
		return r.fixed(bitsOf(t.name) / 8)
	case "Int8", "Int16", "Int32", "Int64":
		bits := bitsOf(t.name)
		u, err := r.fixed(bits / 8)
		if err != nil {
			return nil, err
		}
		return int64(u<<(64-bits)) >> (64 - bits), nil
	case "Float32":
		u, err := r.fixed(4)
		return float64(math.Float32frombits(uint32(u))), err
	case "Float64":
		u, err := r.fixed(8)
		return math.Float64frombits(u), err
	case "Bool":
		u, err := r.fixed(1)
		return u != 0, err
	case "String":
		return r.str()
	case "FixedString":
		b, err := r.next(t.size)
		return string(b), err
	case "Enum8", "Enum16":
		bits := 8
		if t.name == "Enum16" {
			bits = 16
		}
		u, err := r.fixed(bits / 8)
		if err != nil {
			return nil, err
		}
		v := int(int64(u<<(64-bits)) >> (64 - bits))
		name, ok := t.enumName[v]
		if !ok {
			return nil, fmt.Errorf("%d is not a value of %s", v, t)
		}
		return name, nil
	case "UUID":
		b, err := r.next(16)
		if err != nil {
			return nil, err
		}
		var u [16]byte
		for i := 0; i < 8; i++ {
			u[i] = b[7-i]
			u[8+i] = b[15-i]
		}
		return formatUUID(u), nil
	case "Date":
		d, err := r.fixed(2)
		return time.Unix(int64(d)*86400, 0).UTC(), err
	case "Date32":
		d, err := r.fixed(4)
		return time.Unix(int64(int32(uint32(d)))*86400, 0).UTC(), err
	case "DateTime":
		s, err := r.fixed(4)
		return time.Unix(int64(s), 0).UTC(), err
	case "Array":
		n, err := r.uvarint()
		if err != nil {
			return nil, err
		}
		if n > uint64(len(r.buf)-r.i) {
			return nil, io.ErrUnexpectedEOF
		}
		out := make([]any, n)
		for i := range out {
			if out[i], err = r.value(t.elems[0]); err != nil {
				return nil, err
			}
		}
		return out, nil
	case "Tuple":
		out := make([]any, len(t.elems))
		for i, e := range t.elems {
			var err error
			if out[i], err = r.value(e); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: %s (cast it in the query, e.g. toString or toFloat64)", ErrType, t)
}

// appendRowBinary appends v, a value toColumn returned for type t, in
// RowBinary encoding: how chDB's Insert hands values over exactly (text
// would go through ClickHouse's float parser, which may be off by one unit
// in the last place and flushes subnormals to zero).
func appendRowBinary(buf []byte, t *chType, v any) ([]byte, error) {
	le := binary.LittleEndian
	switch t.name {
	case "Nullable":
		if v == nil {
			return append(buf, 1), nil
		}
		return appendRowBinary(append(buf, 0), t.elems[0], v)
	case "LowCardinality":
		return appendRowBinary(buf, t.elems[0], v)
	}
	switch x := v.(type) {
	case uint8:
		return append(buf, x), nil
	case uint16:
		return le.AppendUint16(buf, x), nil
	case uint32:
		return le.AppendUint32(buf, x), nil
	case uint64:
		return le.AppendUint64(buf, x), nil
	case int8:
		return append(buf, byte(x)), nil
	case int16:
		return le.AppendUint16(buf, uint16(x)), nil
	case int32:
		return le.AppendUint32(buf, uint32(x)), nil
	case int64:
		return le.AppendUint64(buf, uint64(x)), nil
	case float32:
		return le.AppendUint32(buf, math.Float32bits(x)), nil
	case float64:
		return le.AppendUint64(buf, math.Float64bits(x)), nil
	case bool:
		if x {
			return append(buf, 1), nil
		}
		return append(buf, 0), nil
	case string:
		switch t.name {
		case "FixedString":
			buf = append(buf, x...)
			for range t.size - len(x) {
				buf = append(buf, 0)
			}
			return buf, nil
		case "Enum8":
			return append(buf, byte(int8(t.enum[x]))), nil
		case "Enum16":
			return le.AppendUint16(buf, uint16(int16(t.enum[x]))), nil
		case "UUID":
			u, err := hex.DecodeString(strings.ReplaceAll(x, "-", ""))
			if err != nil || len(u) != 16 {
				return nil, fmt.Errorf("%w: bad UUID %q", ErrValue, x)
			}
			for i := 7; i >= 0; i-- {
				buf = append(buf, u[i])
			}
			for i := 15; i >= 8; i-- {
				buf = append(buf, u[i])
			}
			return buf, nil
		}
		buf = binary.AppendUvarint(buf, uint64(len(x)))
		return append(buf, x...), nil
	case time.Time:
		if t.name == "Date" {
			return le.AppendUint16(buf, uint16(x.Unix()/86400)), nil
		}
		return le.AppendUint32(buf, uint32(x.Unix())), nil
	case []any:
		buf = binary.AppendUvarint(buf, uint64(len(x)))
		for _, e := range x {
			var err error
			if buf, err = appendRowBinary(buf, t.elems[0], e); err != nil {
				return nil, err
			}
		}
		return buf, nil
	}
	return nil, fmt.Errorf("%w: cannot encode %T for %s", ErrValue, v, t)
}

// stripLowCardinality is t without LowCardinality wrappers, as text: the
// structure format() reads RowBinary with (the insert converts back).
func stripLowCardinality(t *chType) string {
	switch t.name {
	case "LowCardinality":
		return stripLowCardinality(t.elems[0])
	case "Nullable", "Array":
		return t.name + "(" + stripLowCardinality(t.elems[0]) + ")"
	}
	return t.text
}
