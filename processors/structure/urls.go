package structure

import (
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/url"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/publicsuffix"
)

// parseHTTPURL parses an absolute http or https URL, or returns nil.
func parseHTTPURL(raw string) *url.URL {
	if !utf8.ValidString(raw) {
		return nil
	}
	u, err := url.Parse(cleanHref(raw))
	if err != nil || !u.IsAbs() {
		return nil
	}
	return httpOnly(u)
}

// httpOnly returns u when it is a usable http(s) URL with a host, else nil.
func httpOnly(u *url.URL) *url.URL {
	if u == nil || u.Opaque != "" || u.Host == "" {
		return nil
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		return u
	}
	return nil
}

// cleanHref strips what browsers strip from a URL attribute: leading and
// trailing whitespace and control characters, and tabs and newlines inside.
func cleanHref(s string) string {
	s = strings.TrimFunc(s, func(r rune) bool { return r <= ' ' })
	if strings.ContainsAny(s, "\t\n\r") {
		s = strings.NewReplacer("\t", "", "\n", "", "\r", "").Replace(s)
	}
	return s
}

// resolve resolves ref against base and returns the normalised absolute
// http(s) URL, or "" when ref is not one.
func resolve(base *url.URL, ref string) string {
	ref = cleanHref(ref)
	if ref == "" || !utf8.ValidString(ref) {
		return ""
	}
	u, err := url.Parse(ref)
	if err != nil {
		return ""
	}
	if base != nil {
		u = base.ResolveReference(u)
	}
	if httpOnly(u) == nil {
		return ""
	}
	return normalizeURL(u)
}

// normalizeURL writes u in the form used for IDs and links: lower-case scheme
// and host, no default port, no fragment, and "/" for an empty path.
func normalizeURL(u *url.URL) string {
	c := *u
	c.Scheme = strings.ToLower(c.Scheme)
	host := strings.ToLower(c.Host)
	if h, port, err := net.SplitHostPort(host); err == nil {
		if (c.Scheme == "http" && port == "80") || (c.Scheme == "https" && port == "443") || port == "" {
			host = h
			if strings.Contains(h, ":") {
				host = "[" + h + "]"
			}
		}
	}
	c.Host = host
	c.Fragment, c.RawFragment = "", ""
	if c.Path == "" && c.RawPath == "" {
		c.Path = "/"
	}
	return c.String()
}

// sameSite reports whether a and b share a registrable domain (eTLD+1),
// or the same host where there is none (IP addresses, localhost).
func sameSite(a, b *url.URL) bool {
	ha, hb := strings.ToLower(a.Hostname()), strings.ToLower(b.Hostname())
	if ha == hb {
		return true
	}
	sa, errA := publicsuffix.EffectiveTLDPlusOne(ha)
	sb, errB := publicsuffix.EffectiveTLDPlusOne(hb)
	return errA == nil && errB == nil && sa == sb
}

// documentID is the stable Document ID of a web page.
func documentID(canonical string) string {
	sum := sha256.Sum256([]byte(canonical))
	return "web:" + hex.EncodeToString(sum[:])[:32]
}
