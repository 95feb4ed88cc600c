package analytics

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// ErrValue is wrapped by Insert when a Go value does not fit its column:
// the wrong kind, out of range, or a type this package does not write.
var ErrValue = errors.New("value does not fit its column")

// ErrType is wrapped by Query when a result column has a type this package
// does not read (Decimal, DateTime64, Map, ...); cast it in the query.
var ErrType = errors.New("unsupported column type")

// toColumn converts v to the canonical Go value for a column of type t,
// checking its range: uint8…uint64 and int8…int64 for the integer types,
// float32/float64, string (String, FixedString, Enum, UUID), bool, time.Time
// (Date: midnight UTC of v's calendar date; DateTime: v in UTC, whole
// seconds), nil (Nullable only) and []any (Array). Both backends insert what
// it returns, so both accept and refuse the same values.
func toColumn(t *chType, v any) (any, error) {
	if canonical(t, v) {
		return v, nil
	}
	rv := reflect.ValueOf(v)
	for rv.IsValid() && rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			rv = reflect.Value{}
			break
		}
		rv = rv.Elem()
	}
	b, nullable := t.base()
	if !rv.IsValid() {
		if nullable {
			return nil, nil
		}
		return nil, fmt.Errorf("%w: nil for %s, which is not Nullable", ErrValue, t)
	}
	v = rv.Interface()
	bad := func(why string) error {
		if why != "" {
			why = ": " + why
		}
		return fmt.Errorf("%w: %T %v for %s%s", ErrValue, v, clip(v), t, why)
	}
	switch b.name {
	case "UInt8", "UInt16", "UInt32", "UInt64":
		bits := bitsOf(b.name)
		var u uint64
		switch {
		case rv.CanUint():
			u = rv.Uint()
		case rv.CanInt():
			if rv.Int() < 0 {
				return nil, bad("negative")
			}
			u = uint64(rv.Int())
		case rv.Kind() == reflect.Bool:
			if rv.Bool() {
				u = 1
			}
		default:
			return nil, bad("want an integer")
		}
		if bits < 64 && u >= 1<<bits {
			return nil, bad("out of range")
		}
		switch bits {
		case 8:
			return uint8(u), nil
		case 16:
			return uint16(u), nil
		case 32:
			return uint32(u), nil
		}
		return u, nil
	case "Int8", "Int16", "Int32", "Int64":
		bits := bitsOf(b.name)
		var i int64
		switch {
		case rv.CanInt():
			i = rv.Int()
		case rv.CanUint():
			if rv.Uint() > math.MaxInt64 {
				return nil, bad("out of range")
			}
			i = int64(rv.Uint())
		case rv.Kind() == reflect.Bool:
			if rv.Bool() {
				i = 1
			}
		default:
			return nil, bad("want an integer")
		}
		if bits < 64 && (i < -(1<<(bits-1)) || i >= 1<<(bits-1)) {
			return nil, bad("out of range")
		}
		switch bits {
		case 8:
			return int8(i), nil
		case 16:
			return int16(i), nil
		case 32:
			return int32(i), nil
		}
		return i, nil
	case "Float32", "Float64":
		var f float64
		switch {
		case rv.CanFloat():
			f = rv.Float()
		case rv.CanInt():
			f = float64(rv.Int())
		case rv.CanUint():
			f = float64(rv.Uint())
		default:
			return nil, bad("want a number")
		}
		if b.name == "Float32" {
			return float32(f), nil
		}
		return f, nil
	case "Bool":
		if rv.Kind() != reflect.Bool {
			return nil, bad("want a bool")
		}
		return rv.Bool(), nil
	case "String", "FixedString":
		var s string
		switch {
		case rv.Kind() == reflect.String:
			s = rv.String()
		case rv.Kind() == reflect.Slice && rv.Type().Elem().Kind() == reflect.Uint8:
			s = string(rv.Bytes())
		default:
			return nil, bad("want a string or []byte")
		}
		if b.name == "FixedString" && len(s) > b.size {
			return nil, bad(fmt.Sprintf("%d bytes is longer than %d", len(s), b.size))
		}
		return s, nil
	case "Enum8", "Enum16":
		if rv.Kind() != reflect.String {
			return nil, bad("want one of its names")
		}
		if _, ok := b.enum[rv.String()]; !ok {
			return nil, bad("not one of its names")
		}
		return rv.String(), nil
	case "UUID":
		var s string
		switch {
		case rv.Kind() == reflect.String:
			s = strings.ToLower(rv.String())
		case rv.Kind() == reflect.Array && rv.Len() == 16 && rv.Type().Elem().Kind() == reflect.Uint8:
			var u [16]byte
			reflect.Copy(reflect.ValueOf(u[:]), rv)
			s = formatUUID(u)
		default:
			return nil, bad("want a string or [16]byte")
		}
		if !validUUID(s) {
			return nil, bad("not a UUID")
		}
		return s, nil
	case "Date":
		tm, ok := v.(time.Time)
		if !ok {
			return nil, bad("want a time.Time")
		}
		d := time.Date(tm.Year(), tm.Month(), tm.Day(), 0, 0, 0, 0, time.UTC)
		if d.Before(minDate) || d.After(maxDate) {
			return nil, bad("outside 1970-01-01 … 2149-06-06")
		}
		return d, nil
	case "DateTime":
		tm, ok := v.(time.Time)
		if !ok {
			return nil, bad("want a time.Time")
		}
		if tm.Unix() < 0 || tm.Unix() > math.MaxUint32 {
			return nil, bad("outside 1970 … 2106")
		}
		return time.Unix(tm.Unix(), 0).UTC(), nil
	case "Array":
		if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
			return nil, bad("want a slice")
		}
		out := make([]any, rv.Len())
		for i := range out {
			e, err := toColumn(b.elems[0], rv.Index(i).Interface())
			if err != nil {
				return nil, fmt.Errorf("element %d: %w", i, err)
			}
			out[i] = e
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: cannot write %s (the package writes integers, floats, Bool, String, FixedString, Enum, UUID, Date, DateTime, and Nullable, LowCardinality and Array of them)", ErrValue, t)
}

var (
	minDate = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	maxDate = time.Date(2149, 6, 6, 0, 0, 0, 0, time.UTC)
)

// canonical reports whether v already is the value toColumn would return
// for it, for the common column types; toColumn then returns it as is,
// without reflection or allocation (the sink's rows take this path).
func canonical(t *chType, v any) bool {
	name := t.name
	if name == "LowCardinality" {
		name = t.elems[0].name
	}
	switch x := v.(type) {
	case int64:
		return name == "Int64"
	case uint64:
		return name == "UInt64"
	case uint32:
		return name == "UInt32"
	case uint8:
		return name == "UInt8"
	case float64:
		return name == "Float64"
	case string:
		return name == "String"
	case time.Time:
		u := x.Unix()
		return name == "DateTime" && x.Location() == time.UTC && x.Nanosecond() == 0 && u >= 0 && u <= math.MaxUint32
	}
	return false
}

func bitsOf(name string) int {
	n, _ := strconv.Atoi(strings.TrimLeft(name, "UInt"))
	return n
}

func clip(v any) string {
	s := fmt.Sprint(v)
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return strconv.Quote(s)
}

func formatUUID(u [16]byte) string {
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}

func validUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
				return false
			}
		}
	}
	return true
}

// quote writes s as a single-quoted ClickHouse string literal; every byte
// survives, NUL and invalid UTF-8 included.
func quote(b *strings.Builder, s string) {
	const digits = "0123456789abcdef"
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c == 0x7f:
			b.WriteString(`\x`)
			b.WriteByte(digits[c>>4])
			b.WriteByte(digits[c&15])
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
}

// fromColumn normalises a value the ClickHouse client scanned from a column
// of type t to the package's result types (see Result).
func fromColumn(t *chType, v any) (any, error) {
	rv := reflect.ValueOf(v)
	for rv.IsValid() && (rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Interface) {
		if rv.IsNil() {
			return nil, nil
		}
		rv = rv.Elem()
	}
	if !rv.IsValid() {
		return nil, nil
	}
	b, _ := t.base()
	unexpected := func() (any, error) {
		return nil, fmt.Errorf("%w: %s scanned as %s", ErrType, t, rv.Type())
	}
	switch b.name {
	case "UInt8", "UInt16", "UInt32", "UInt64":
		if !rv.CanUint() {
			return unexpected()
		}
		return rv.Uint(), nil
	case "Int8", "Int16", "Int32", "Int64":
		if !rv.CanInt() {
			return unexpected()
		}
		return rv.Int(), nil
	case "Float32", "Float64":
		if !rv.CanFloat() {
			return unexpected()
		}
		if b.name == "Float32" {
			return float64(float32(rv.Float())), nil
		}
		return rv.Float(), nil
	case "Bool":
		if rv.Kind() != reflect.Bool {
			return unexpected()
		}
		return rv.Bool(), nil
	case "String", "FixedString", "Enum8", "Enum16":
		if rv.Kind() == reflect.String {
			return rv.String(), nil
		}
		if rv.Kind() == reflect.Slice && rv.Type().Elem().Kind() == reflect.Uint8 {
			return string(rv.Bytes()), nil
		}
		return unexpected()
	case "UUID":
		if s, ok := rv.Interface().(fmt.Stringer); ok {
			return strings.ToLower(s.String()), nil
		}
		return unexpected()
	case "Date", "Date32":
		tm, ok := rv.Interface().(time.Time)
		if !ok {
			return unexpected()
		}
		return time.Date(tm.Year(), tm.Month(), tm.Day(), 0, 0, 0, 0, time.UTC), nil
	case "DateTime":
		tm, ok := rv.Interface().(time.Time)
		if !ok {
			return unexpected()
		}
		return time.Unix(tm.Unix(), 0).UTC(), nil
	case "Array", "Tuple":
		if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
			return unexpected()
		}
		if b.name == "Tuple" && rv.Len() != len(b.elems) {
			return unexpected()
		}
		out := make([]any, rv.Len())
		for i := range out {
			et := b.elems[0]
			if b.name == "Tuple" {
				et = b.elems[i]
			}
			e, err := fromColumn(et, rv.Index(i).Interface())
			if err != nil {
				return nil, err
			}
			out[i] = e
		}
		return out, nil
	case "Nothing":
		return nil, nil
	}
	return nil, fmt.Errorf("%w: %s", ErrType, t)
}
