package web_test

import (
	"testing"

	"github.com/fairstream/fairstream/connectors/web"
)

func TestCanonical(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		sort     bool
	}{
		{in: "HTTP://Example.COM:80/a/./b/../c?x=1#frag", want: "http://example.com/a/c?x=1"},
		{in: "https://example.com:443", want: "https://example.com/"},
		{in: "https://example.com:8443/", want: "https://example.com:8443/"},
		{in: "http://example.com.:8080/x", want: "http://example.com:8080/x"},
		{in: "http://user:secret@example.com/", want: "http://example.com/"},
		{in: "  http://example.com/a\n/b\t ", want: "http://example.com/a/b"},
		{in: "http://example.com/a%2fb/%7Euser/%e2%82%ac", want: "http://example.com/a%2Fb/~user/%E2%82%AC"},
		{in: "http://example.com/café/€", want: "http://example.com/caf%C3%A9/%E2%82%AC"},
		{in: "http://example.com/caf é?q=a b", want: "http://example.com/caf%20%C3%A9?q=a%20b"},
		{in: "http://Bücher.example/", want: "http://xn--bcher-kva.example/"},
		{in: "http://例え.テスト/パス", want: "http://xn--r8jz45g.xn--zckzah/%E3%83%91%E3%82%B9"},
		{in: "http://example.com/dir/", want: "http://example.com/dir/"},
		{in: "http://example.com/dir", want: "http://example.com/dir"},
		{in: "http://example.com/dir/.", want: "http://example.com/dir/"},
		{in: "http://example.com/a/../../b", want: "http://example.com/b"},
		{in: "http://example.com/?", want: "http://example.com/"},
		{in: "http://example.com/%zz", want: "http://example.com/%25zz"},
		{in: "http://[::1]:80/x", want: "http://[::1]/x"},
		{in: "http://[2001:DB8::1]:8080/x", want: "http://[2001:db8::1]:8080/x"},
		{in: "http://e.com/?b=2&a=1&&c", want: "http://e.com/?b=2&a=1&&c"},
		{in: "http://e.com/?b=2&a=1&&c", want: "http://e.com/?a=1&b=2&c", sort: true},
		{in: "http://e.com/s?q=caf%c3%a9&x=%41", want: "http://e.com/s?q=caf%C3%A9&x=A"},
	} {
		got, err := web.Canonical(tc.in, tc.sort)
		if err != nil || got != tc.want {
			t.Errorf("Canonical(%q, %v) = %q, %v; want %q", tc.in, tc.sort, got, err, tc.want)
			continue
		}
		if again, err := web.Canonical(got, tc.sort); err != nil || again != got {
			t.Errorf("Canonical is not idempotent on %q: %q, %v", got, again, err)
		}
	}
	for _, bad := range []string{"", "ftp://example.com/", "/relative/path", "mailto:team@example.org", "javascript:alert(1)",
		"http:///no-host", "http://exa mple.com/", "https://[::1/"} {
		if got, err := web.Canonical(bad, false); err == nil {
			t.Errorf("Canonical(%q) = %q, want an error", bad, got)
		}
	}
}
