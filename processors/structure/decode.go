package structure

import (
	"bytes"
	"fmt"
	"mime"
	"net/http"
	"regexp"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/charset"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/unicode"
)

// kind is how a body is structured.
type kind int

const (
	kindHTML kind = iota + 1
	kindText
)

// prescanBytes is how far into the body a <meta> or XML declaration naming
// the charset is looked for, as the HTML standard says.
const prescanBytes = 1024

// Thresholds past which a decoded body is "clearly binary" rather than text
// with a few bad bytes (which become U+FFFD).
const (
	maxInvalidRatio = 0.10 // bytes that are not valid UTF-8, of all bytes
	maxControlRatio = 0.10 // C0 control characters other than whitespace, of all runes
)

// mediaType returns the lower-cased media type and its parameters from a
// Content-Type header. A header with bad parameters still gives its type.
func mediaType(contentType string) (string, map[string]string) {
	if strings.TrimSpace(contentType) == "" {
		return "", nil
	}
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil && err != mime.ErrInvalidMediaParameter {
		// Fall back to the part before the first ';', which is what browsers use.
		mt, _, _ = strings.Cut(contentType, ";")
		mt = strings.ToLower(strings.TrimSpace(mt))
		if !strings.Contains(mt, "/") {
			return "", nil
		}
		params = nil
	}
	return mt, params
}

// classify decides how to structure a body from its declared media type,
// sniffing the body when none is declared.
func classify(mt string, body []byte) (kind, string, error) {
	declared := mt
	if declared == "" {
		sniffed, _ := mediaType(http.DetectContentType(body))
		mt = sniffed
	}
	switch mt {
	case "text/html", "application/xhtml+xml":
	case "text/plain":
	default:
		if declared == "" {
			return 0, "", fmt.Errorf("%w: no content type and body sniffed as %q", ErrUnprocessable, mt)
		}
		return 0, "", fmt.Errorf("%w: unsupported content type %q", ErrUnprocessable, mt)
	}
	// A body that starts like an image, archive, PDF or other binary file is
	// not text whatever the header says.
	if sniffed, _ := mediaType(http.DetectContentType(body)); !strings.HasPrefix(sniffed, "text/") {
		return 0, "", fmt.Errorf("%w: content type %q but body is %s data", ErrUnprocessable, mt, sniffed)
	}
	if mt == "text/plain" {
		return kindText, mt, nil
	}
	return kindHTML, mt, nil
}

// xmlEncodingRe matches the encoding in an XML declaration.
var xmlEncodingRe = regexp.MustCompile(`^\s*<\?xml[^>]*?\sencoding\s*=\s*["']([A-Za-z0-9._:-]+)["']`)

// decodeBody converts body to valid UTF-8. mt and params come from the
// Content-Type header; isHTML enables the in-document declarations.
func decodeBody(body []byte, mt string, params map[string]string, isHTML bool) (string, error) {
	ch := chooseEncoding(body, mt, params, isHTML)
	switch {
	case ch.name == "" && ch.unknown != "":
		return "", fmt.Errorf("%w: unknown charset %q and body is not valid UTF-8", ErrUnprocessable, ch.unknown)
	case ch.name == "replacement":
		// The WHATWG "replacement" encoding stands for encodings that are
		// unsafe to decode (ISO-2022-KR, HZ-GB-2312, ...).
		return "", fmt.Errorf("%w: charset %q cannot be decoded", ErrUnprocessable, ch.label)
	}
	var text string
	if ch.enc == nil {
		text = string(bytes.TrimPrefix(body, utf8BOM))
	} else {
		decoded, err := ch.enc.NewDecoder().Bytes(body)
		if err != nil {
			return "", fmt.Errorf("%w: body cannot be decoded as %s: %v", ErrUnprocessable, ch.name, err)
		}
		text = string(bytes.TrimPrefix(decoded, utf8BOM))
	}
	if reason := binaryReason(text); reason != "" {
		return "", fmt.Errorf("%w: content type %q but body is binary (%s, decoded as %s)", ErrUnprocessable, mt, reason, ch.name)
	}
	return strings.ToValidUTF8(text, "\uFFFD"), nil
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// chosenEncoding is the outcome of chooseEncoding.
type chosenEncoding struct {
	enc     encoding.Encoding // nil for UTF-8
	name    string            // WHATWG name; "" when no usable encoding was found
	label   string            // the label as declared, "" when sniffed
	unknown string            // the first declared label that is not a known encoding
}

// chooseEncoding follows the HTML standard's order: byte-order mark,
// Content-Type charset, XML declaration (XHTML), <meta> prescan, then UTF-8
// when the whole body is valid UTF-8 and windows-1252 otherwise. A declared
// but unknown label is passed over; when nothing else is declared and the body
// is not valid UTF-8, the result has no name and carries that label.
func chooseEncoding(body []byte, mt string, params map[string]string, isHTML bool) chosenEncoding {
	switch {
	case bytes.HasPrefix(body, utf8BOM):
		return chosenEncoding{name: "utf-8"}
	case bytes.HasPrefix(body, []byte{0xFE, 0xFF}):
		return chosenEncoding{enc: unicode.UTF16(unicode.BigEndian, unicode.ExpectBOM), name: "utf-16be"}
	case bytes.HasPrefix(body, []byte{0xFF, 0xFE}):
		return chosenEncoding{enc: unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM), name: "utf-16le"}
	}
	var unknown string
	lookup := func(label string, fromDocument bool) (chosenEncoding, bool) {
		label = strings.TrimSpace(label)
		if label == "" {
			return chosenEncoding{}, false
		}
		enc, name := charset.Lookup(label)
		if enc == nil {
			if unknown == "" {
				unknown = label
			}
			return chosenEncoding{}, false
		}
		// A document cannot declare itself UTF-16: it was read as ASCII to
		// find the declaration.
		if name == "utf-8" || (fromDocument && strings.HasPrefix(name, "utf-16")) {
			return chosenEncoding{name: "utf-8", label: label}, true
		}
		return chosenEncoding{enc: enc, name: name, label: label}, true
	}
	if ch, ok := lookup(params["charset"], false); ok {
		return ch
	}
	if isHTML {
		head := body
		if len(head) > prescanBytes {
			head = head[:prescanBytes]
		}
		if mt == "application/xhtml+xml" {
			if m := xmlEncodingRe.FindSubmatch(head); m != nil {
				if ch, ok := lookup(string(m[1]), true); ok {
					return ch
				}
			}
		}
		if ch, ok := lookup(metaCharset(head), true); ok {
			return ch
		}
	}
	if utf8.Valid(body) {
		return chosenEncoding{name: "utf-8"}
	}
	if unknown != "" {
		return chosenEncoding{unknown: unknown}
	}
	enc, name := charset.Lookup("windows-1252")
	return chosenEncoding{enc: enc, name: name}
}

// metaCharset returns the charset named by the first <meta charset> or
// <meta http-equiv="content-type" content="...; charset=..."> in head.
func metaCharset(head []byte) string {
	z := html.NewTokenizer(bytes.NewReader(head))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return ""
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			if string(name) != "meta" {
				continue
			}
			var cs, equiv, content string
			for hasAttr {
				var k, v []byte
				k, v, hasAttr = z.TagAttr()
				switch string(k) {
				case "charset":
					cs = string(v)
				case "http-equiv":
					equiv = strings.ToLower(strings.TrimSpace(string(v)))
				case "content":
					content = string(v)
				}
			}
			if cs != "" {
				return cs
			}
			if equiv == "content-type" {
				if _, p := mediaType(content); p["charset"] != "" {
					return p["charset"]
				}
				if _, after, ok := strings.Cut(strings.ToLower(content), "charset="); ok {
					return strings.Trim(strings.TrimSpace(after), `"';`)
				}
			}
		}
	}
}

// binaryReason says why text is clearly not text, or returns "".
func binaryReason(text string) string {
	if i := strings.IndexByte(text, 0); i >= 0 {
		return fmt.Sprintf("NUL byte at offset %d", i)
	}
	var invalid, control, runes int
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		if r == utf8.RuneError && size == 1 {
			invalid++
		} else if r < 0x20 && r != '\t' && r != '\n' && r != '\r' && r != '\f' {
			control++
		}
		runes++
		i += size
	}
	if invalid > 0 && float64(invalid) > maxInvalidRatio*float64(len(text)) {
		return fmt.Sprintf("%d of %d bytes are not valid UTF-8", invalid, len(text))
	}
	if control > 0 && float64(control) > maxControlRatio*float64(runes) {
		return fmt.Sprintf("%d of %d characters are control characters", control, runes)
	}
	return ""
}
