package analytics

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Output formats of QueryFormat.
const (
	FormatTable = "table"
	FormatCSV   = "csv"
	FormatJSON  = "json"
)

// QueryFormat runs query on b and writes its result to w as format:
//
//   - "table" (or ""): a header and aligned columns, numbers right-aligned,
//     then a line counting the rows;
//   - "csv": RFC 4180, a header row, CRLF line ends; NULL is an empty
//     field;
//   - "json": one JSON object per row and line (JSON Lines), keys in
//     column order; NULL is null, DateTime an RFC 3339 string, Date
//     "YYYY-MM-DD", arrays JSON arrays, NaN and ±Inf the strings "NaN",
//     "+Inf", "-Inf".
//
// It is the analyst path of `fairstream sql`; the query runs unchanged on
// either backend.
func QueryFormat(ctx context.Context, b Backend, query string, format string, w io.Writer) error {
	switch format {
	case "", FormatTable, FormatCSV, FormatJSON:
	default:
		return fmt.Errorf("format %q: want %s, %s or %s", format, FormatTable, FormatCSV, FormatJSON)
	}
	res, err := b.Query(ctx, strings.TrimRight(strings.TrimSpace(query), "; \n\t"))
	if err != nil {
		return err
	}
	return WriteResult(res, format, w)
}

// WriteResult writes res as QueryFormat does.
func WriteResult(res *Result, format string, w io.Writer) error {
	bw := bufio.NewWriter(w)
	var err error
	switch format {
	case "", FormatTable:
		err = writeTable(res, bw)
	case FormatCSV:
		err = writeCSV(res, bw)
	case FormatJSON:
		err = writeJSON(res, bw)
	default:
		return fmt.Errorf("format %q: want %s, %s or %s", format, FormatTable, FormatCSV, FormatJSON)
	}
	if err != nil {
		return err
	}
	return bw.Flush()
}

// text renders a value as ClickHouse's text formats do.
func text(v any, dateOnly bool) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case string:
		return x
	case uint64:
		return strconv.FormatUint(x, 10)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		switch {
		case math.IsNaN(x):
			return "nan"
		case math.IsInf(x, 1):
			return "inf"
		case math.IsInf(x, -1):
			return "-inf"
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case time.Time:
		if dateOnly {
			return x.UTC().Format(time.DateOnly)
		}
		return x.UTC().Format(time.DateTime)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			if s, ok := e.(string); ok {
				parts[i] = strconv.Quote(s)
			} else {
				parts[i] = text(e, dateOnly)
			}
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	return fmt.Sprint(v)
}

// isDate reports whether a column's type is a Date (not a DateTime).
func isDate(typ string) bool {
	t := strings.TrimPrefix(strings.TrimPrefix(typ, "Nullable("), "LowCardinality(")
	return strings.HasPrefix(t, "Date") && !strings.HasPrefix(t, "DateTime")
}

func isNumeric(typ string) bool {
	t := strings.TrimPrefix(strings.TrimPrefix(typ, "LowCardinality("), "Nullable(")
	for _, p := range []string{"UInt", "Int", "Float", "Decimal"} {
		if strings.HasPrefix(t, p) {
			return true
		}
	}
	return false
}

func writeTable(res *Result, w *bufio.Writer) error {
	cells := make([][]string, len(res.Rows))
	width := make([]int, len(res.Columns))
	dates := make([]bool, len(res.Columns))
	for j, c := range res.Columns {
		width[j] = utf8.RuneCountInString(c.Name)
		dates[j] = isDate(c.Type)
	}
	for i, r := range res.Rows {
		cells[i] = make([]string, len(r))
		for j, v := range r {
			s := strings.NewReplacer("\n", `\n`, "\t", `\t`).Replace(text(v, dates[j]))
			cells[i][j] = s
			width[j] = max(width[j], utf8.RuneCountInString(s))
		}
	}
	line := func(vals []string, right func(int) bool) {
		for j, s := range vals {
			if j > 0 {
				w.WriteString("  ")
			}
			pad := strings.Repeat(" ", width[j]-utf8.RuneCountInString(s))
			switch {
			case right(j):
				w.WriteString(pad + s)
			case j == len(vals)-1:
				w.WriteString(s)
			default:
				w.WriteString(s + pad)
			}
		}
		w.WriteString("\n")
	}
	names := make([]string, len(res.Columns))
	rules := make([]string, len(res.Columns))
	numeric := make([]bool, len(res.Columns))
	for j, c := range res.Columns {
		names[j] = c.Name
		rules[j] = strings.Repeat("-", width[j])
		numeric[j] = isNumeric(c.Type)
	}
	line(names, func(j int) bool { return numeric[j] })
	line(rules, func(int) bool { return false })
	for _, r := range cells {
		line(r, func(j int) bool { return numeric[j] })
	}
	n := len(res.Rows)
	if n == 1 {
		fmt.Fprintf(w, "(1 row)\n")
	} else {
		fmt.Fprintf(w, "(%d rows)\n", n)
	}
	return nil
}

func writeCSV(res *Result, w *bufio.Writer) error {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	names := make([]string, len(res.Columns))
	dates := make([]bool, len(res.Columns))
	for j, c := range res.Columns {
		names[j] = c.Name
		dates[j] = isDate(c.Type)
	}
	if err := cw.Write(names); err != nil {
		return err
	}
	rec := make([]string, len(res.Columns))
	for _, r := range res.Rows {
		for j, v := range r {
			if v == nil {
				rec[j] = ""
			} else {
				rec[j] = text(v, dates[j])
			}
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func jsonValue(v any, dateOnly bool) any {
	switch x := v.(type) {
	case float64:
		switch {
		case math.IsNaN(x):
			return "NaN"
		case math.IsInf(x, 1):
			return "+Inf"
		case math.IsInf(x, -1):
			return "-Inf"
		}
		return x
	case time.Time:
		if dateOnly {
			return x.UTC().Format(time.DateOnly)
		}
		return x.UTC().Format(time.RFC3339)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonValue(e, dateOnly)
		}
		return out
	}
	return v
}

func writeJSON(res *Result, w *bufio.Writer) error {
	keys := make([][]byte, len(res.Columns))
	dates := make([]bool, len(res.Columns))
	for j, c := range res.Columns {
		k, err := json.Marshal(c.Name)
		if err != nil {
			return err
		}
		keys[j] = k
		dates[j] = isDate(c.Type)
	}
	for _, r := range res.Rows {
		w.WriteByte('{')
		for j, v := range r {
			if j > 0 {
				w.WriteByte(',')
			}
			w.Write(keys[j])
			w.WriteByte(':')
			b, err := json.Marshal(jsonValue(v, dates[j]))
			if err != nil {
				return fmt.Errorf("column %s: %w", res.Columns[j].Name, err)
			}
			w.Write(b)
		}
		w.WriteString("}\n")
	}
	return nil
}
