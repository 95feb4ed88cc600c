package analytics

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// chType is a parsed ClickHouse type name, such as
// "Array(LowCardinality(Nullable(String)))" or "DateTime('UTC')".
type chType struct {
	name     string    // the family: "UInt64", "Array", "DateTime", "Enum8", ...
	elems    []*chType // Array, Nullable, LowCardinality: one; Tuple: each
	tz       *time.Location
	size     int            // FixedString(N)
	enum     map[string]int // Enum8/Enum16: name to value
	enumName map[int]string // and back
	text     string         // as the server wrote it
}

// String is the type as the server wrote it.
func (t *chType) String() string { return t.text }

// base strips LowCardinality and Nullable, reporting whether Nullable was there.
func (t *chType) base() (b *chType, nullable bool) {
	for {
		switch t.name {
		case "LowCardinality":
			t = t.elems[0]
		case "Nullable":
			t = t.elems[0]
			nullable = true
		default:
			return t, nullable
		}
	}
}

// parseType parses a ClickHouse type name. Types the package does not
// convert still parse; conversions reject them with their name.
func parseType(s string) (*chType, error) {
	p := typeParser{s: s}
	t, err := p.parse()
	if err != nil {
		return nil, fmt.Errorf("type %q: %w", s, err)
	}
	p.space()
	if p.i != len(p.s) {
		return nil, fmt.Errorf("type %q: unexpected %q", s, p.s[p.i:])
	}
	return t, nil
}

type typeParser struct {
	s string
	i int
}

func (p *typeParser) space() {
	for p.i < len(p.s) && p.s[p.i] == ' ' {
		p.i++
	}
}

func (p *typeParser) ident() string {
	p.space()
	j := p.i
	for p.i < len(p.s) {
		c := p.s[p.i]
		if c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			p.i++
			continue
		}
		break
	}
	return p.s[j:p.i]
}

// quoted reads a single-quoted string literal, unescaping \' and \\.
func (p *typeParser) quoted() (string, error) {
	p.space()
	if p.i >= len(p.s) || p.s[p.i] != '\'' {
		return "", fmt.Errorf("want a quoted string at %d", p.i)
	}
	p.i++
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch c {
		case '\\':
			if p.i+1 < len(p.s) {
				b.WriteByte(p.s[p.i+1])
			}
			p.i += 2
		case '\'':
			p.i++
			return b.String(), nil
		default:
			b.WriteByte(c)
			p.i++
		}
	}
	return "", fmt.Errorf("unterminated string")
}

func (p *typeParser) expect(c byte) error {
	p.space()
	if p.i >= len(p.s) || p.s[p.i] != c {
		return fmt.Errorf("want %q at %d", c, p.i)
	}
	p.i++
	return nil
}

func (p *typeParser) peek() byte {
	p.space()
	if p.i >= len(p.s) {
		return 0
	}
	return p.s[p.i]
}

func (p *typeParser) parse() (*chType, error) {
	start := p.i
	t := &chType{name: p.ident()}
	if t.name == "" {
		return nil, fmt.Errorf("want a type name at %d", p.i)
	}
	if p.peek() == '(' {
		p.i++
		var err error
		switch t.name {
		case "Array", "Nullable", "LowCardinality", "Tuple":
			err = p.elems(t)
		case "DateTime":
			var tz string
			if tz, err = p.quoted(); err == nil {
				t.tz, err = time.LoadLocation(tz)
			}
		case "FixedString":
			n := p.ident()
			t.size, err = strconv.Atoi(n)
		case "Enum8", "Enum16":
			err = p.enum(t)
		default:
			err = p.skipArgs()
		}
		if err != nil {
			return nil, err
		}
		if err := p.expect(')'); err != nil {
			return nil, err
		}
	}
	if (t.name == "Array" || t.name == "Nullable" || t.name == "LowCardinality") && len(t.elems) != 1 {
		return nil, fmt.Errorf("%s takes one type", t.name)
	}
	t.text = strings.TrimSpace(p.s[start:p.i])
	return t, nil
}

func (p *typeParser) elems(t *chType) error {
	for {
		// A named tuple element: "name Type".
		save := p.i
		if id := p.ident(); id != "" && p.peek() != ',' && p.peek() != ')' && p.peek() != '(' {
			if t.name != "Tuple" {
				return fmt.Errorf("unexpected %q", id)
			}
		} else {
			p.i = save
		}
		e, err := p.parse()
		if err != nil {
			return err
		}
		t.elems = append(t.elems, e)
		if p.peek() != ',' {
			return nil
		}
		p.i++
	}
}

func (p *typeParser) enum(t *chType) error {
	t.enum = map[string]int{}
	t.enumName = map[int]string{}
	for {
		name, err := p.quoted()
		if err != nil {
			return err
		}
		if err := p.expect('='); err != nil {
			return err
		}
		p.space()
		j := p.i
		if p.i < len(p.s) && p.s[p.i] == '-' {
			p.i++
		}
		num := p.s[j:p.i] + p.ident()
		v, err := strconv.Atoi(num)
		if err != nil {
			return fmt.Errorf("enum value %q: %w", num, err)
		}
		t.enum[name] = v
		t.enumName[v] = name
		if p.peek() != ',' {
			return nil
		}
		p.i++
	}
}

// skipArgs skips balanced parameters (Decimal(18, 4), DateTime64(3, 'UTC')).
func (p *typeParser) skipArgs() error {
	depth := 0
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case '\'':
			if _, err := p.quoted(); err != nil {
				return err
			}
			continue
		case '(':
			depth++
		case ')':
			if depth == 0 {
				return nil
			}
			depth--
		}
		p.i++
	}
	return fmt.Errorf("unbalanced parentheses")
}
