package web

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"sort"
	"strings"

	"golang.org/x/net/idna"
)

// Canonical returns the canonical form of an absolute http(s) URL: scheme
// and host lower case (an internationalised host in its ASCII form), no
// user info, no default port, no fragment, dot segments resolved,
// percent-encodings upper case with unreserved characters decoded and
// characters a URL cannot hold encoded, "/" for an empty path, no empty
// query, and, with sortQuery, the query's parameters sorted. A trailing
// slash is kept as it is.
func Canonical(raw string, sortQuery bool) (string, error) {
	u, err := url.Parse(cleanHref(raw))
	if err != nil {
		return "", err
	}
	c, err := canonicalURL(u, sortQuery)
	if err != nil {
		return "", err
	}
	return c.String(), nil
}

// canonicalURL canonicalises an absolute URL.
func canonicalURL(u *url.URL, sortQuery bool) (*url.URL, error) {
	if u == nil || !u.IsAbs() {
		return nil, errors.New("not an absolute URL")
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return nil, fmt.Errorf("scheme %q: only http and https are crawled", u.Scheme)
	}
	if u.Opaque != "" || u.Host == "" {
		return nil, errors.New("no host")
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if host == "" {
		return nil, errors.New("no host")
	}
	if strings.Contains(host, ":") {
		if net.ParseIP(host) == nil {
			return nil, fmt.Errorf("host %q is not an IPv6 address", host)
		}
	} else {
		ascii, err := idna.Lookup.ToASCII(host)
		if err != nil {
			return nil, fmt.Errorf("host %q: %w", host, err)
		}
		host = ascii
	}
	port := u.Port()
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	path := removeDotSegments(normEscapes(u.EscapedPath(), false))
	if path == "" {
		path = "/"
	}
	query := normEscapes(u.RawQuery, true)
	if sortQuery && query != "" {
		parts := strings.Split(query, "&")
		kept := parts[:0]
		for _, p := range parts {
			if p != "" {
				kept = append(kept, p)
			}
		}
		sort.Strings(kept)
		query = strings.Join(kept, "&")
	}
	c := &url.URL{Scheme: scheme, Host: host, RawQuery: query}
	unescaped, err := url.PathUnescape(path)
	if err != nil {
		return nil, fmt.Errorf("path %q: %w", path, err)
	}
	c.Path, c.RawPath = unescaped, path
	return c, nil
}

// cleanHref strips what browsers strip from a URL attribute: leading and
// trailing whitespace and control characters, and tabs and newlines inside;
// a "%" that starts no percent-encoding is encoded, as browsers take it
// literally.
func cleanHref(s string) string {
	s = strings.TrimFunc(s, func(r rune) bool { return r <= ' ' })
	if strings.ContainsAny(s, "\t\n\r") {
		s = strings.NewReplacer("\t", "", "\n", "", "\r", "").Replace(s)
	}
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && (i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2])) {
			b.WriteString("%25")
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

const upperHex = "0123456789ABCDEF"

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

// mustEscape reports the bytes a path or query cannot hold literally.
func mustEscape(c byte, query bool) bool {
	if c <= ' ' || c >= 0x7f {
		return true
	}
	switch c {
	case '"', '<', '>', '\\', '^', '`', '{', '|', '}':
		return true
	case '#':
		return true
	case '?':
		return !query
	}
	return false
}

// normEscapes writes percent-encodings in upper case, decodes those of
// unreserved characters, encodes a stray "%" and bytes a URL cannot hold.
func normEscapes(s string, query bool) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			v := unhex(s[i+1])<<4 | unhex(s[i+2])
			if unreserved(v) {
				b.WriteByte(v)
			} else {
				b.WriteByte('%')
				b.WriteByte(upperHex[v>>4])
				b.WriteByte(upperHex[v&15])
			}
			i += 2
		case c == '%' || mustEscape(c, query):
			b.WriteByte('%')
			b.WriteByte(upperHex[c>>4])
			b.WriteByte(upperHex[c&15])
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// removeDotSegments resolves "." and ".." segments (RFC 3986, 5.2.4).
func removeDotSegments(p string) string {
	if !strings.Contains(p, ".") {
		return p
	}
	var out []string
	segs := strings.Split(p, "/")
	for i, seg := range segs {
		last := i == len(segs)-1
		switch seg {
		case ".":
			if last {
				out = append(out, "")
			}
		case "..":
			if len(out) > 1 {
				out = out[:len(out)-1]
			}
			if last {
				out = append(out, "")
			}
		default:
			out = append(out, seg)
		}
	}
	r := strings.Join(out, "/")
	if strings.HasPrefix(p, "/") && !strings.HasPrefix(r, "/") {
		r = "/" + r
	}
	return r
}

// resolveLink resolves href against base and canonicalises it; ok is
// false for what the crawler does not follow (other schemes, fragments
// alone, unparseable references).
func resolveLink(base *url.URL, href string, sortQuery bool) (*url.URL, bool) {
	href = cleanHref(href)
	if href == "" || strings.HasPrefix(href, "#") {
		return nil, false
	}
	ref, err := url.Parse(href)
	if err != nil {
		return nil, false
	}
	u := base.ResolveReference(ref)
	c, err := canonicalURL(u, sortQuery)
	if err != nil {
		return nil, false
	}
	return c, true
}
