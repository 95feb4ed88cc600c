package structure

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

// testSource is the raw event every message test structures.
func testSource(eventType string) Source {
	return Source{EventID: "01JTESTEVENT0000000000000A", EventType: eventType, Worker: "0xworker", ContentHash: []byte{0xab, 0xcd}}
}

func testLineage(eventType string) *fairstreampb.Lineage {
	return &fairstreampb.Lineage{EventId: "01JTESTEVENT0000000000000A", EventType: eventType, Worker: "0xworker",
		ContentHash: []byte{0xab, 0xcd}, Stage: "structure", StageVersion: Version}
}

func ts(s string) *timestamppb.Timestamp {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return timestamppb.New(t)
}

// detected marks a want whose language is detected: language_confidence is
// then checked to be at least this, not compared exactly.
const detected = 0.5

// diffDoc compares got with want field by field and reports each field that
// differs by its name. A want language_confidence of `detected` accepts any
// confidence from it to 1.
func diffDoc(t *testing.T, got, want *fairstreampb.Document) {
	t.Helper()
	if got == nil {
		t.Fatalf("no document, want %s", prototext.Format(want))
	}
	g, w := got.ProtoReflect(), want.ProtoReflect()
	fields := g.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if fd.Name() == "language_confidence" && want.GetLanguageConfidence() == detected {
			if c := got.GetLanguageConfidence(); c < detected || c > 1 {
				t.Errorf("language_confidence = %v, want a detection's, in [%v, 1]", c, detected)
			}
			continue
		}
		if gv, wv := g.Get(fd), w.Get(fd); !gv.Equal(wv) {
			t.Errorf("%s:\n got  %s\n want %s", fd.Name(), formatValue(fd, gv), formatValue(fd, wv))
		}
	}
}

func formatValue(fd protoreflect.FieldDescriptor, v protoreflect.Value) string {
	one := func(v protoreflect.Value) string {
		if fd.Kind() == protoreflect.MessageKind {
			return "{" + strings.TrimSpace(prototext.MarshalOptions{}.Format(v.Message().Interface())) + "}"
		}
		return fmt.Sprintf("%q", fmt.Sprint(v.Interface()))
	}
	if fd.IsList() {
		var parts []string
		for i := 0; i < v.List().Len(); i++ {
			parts = append(parts, one(v.List().Get(i)))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return one(v)
}

// checkDoc asserts what holds of every document: valid UTF-8 in every
// string, the configured caps, a confidence in [0, 1], an ID and lineage,
// and that it marshals.
func checkDoc(t *testing.T, cfg Config, doc *fairstreampb.Document) {
	t.Helper()
	if doc.GetId() == "" || doc.GetSource() == "" || doc.GetLineage().GetStage() != Name {
		t.Errorf("id %q, source %q, lineage %v", doc.GetId(), doc.GetSource(), doc.GetLineage())
	}
	if len(doc.GetText()) > cfg.MaxTextBytes {
		t.Errorf("text is %d bytes, over %d", len(doc.GetText()), cfg.MaxTextBytes)
	}
	if len(doc.GetLinks()) > cfg.MaxLinks {
		t.Errorf("%d links, over %d", len(doc.GetLinks()), cfg.MaxLinks)
	}
	if len(doc.GetHashtags()) > maxTags || len(doc.GetMentions()) > maxTags || len(doc.GetMedia()) > maxMedia {
		t.Errorf("%d hashtags, %d mentions, %d media", len(doc.GetHashtags()), len(doc.GetMentions()), len(doc.GetMedia()))
	}
	if c := doc.GetLanguageConfidence(); c < 0 || c > 1 || (c == 0) != (doc.GetLanguage() == "") {
		t.Errorf("language %q, confidence %v", doc.GetLanguage(), c)
	}
	strs := []string{doc.GetId(), doc.GetSource(), doc.GetSourceId(), doc.GetUrl(), doc.GetTitle(), doc.GetText(), doc.GetLanguage(),
		doc.GetParentId(), doc.GetThreadId(), doc.GetDescription()}
	strs = append(strs, doc.GetAuthors()...)
	strs = append(strs, doc.GetHashtags()...)
	strs = append(strs, doc.GetMentions()...)
	for _, l := range doc.GetLinks() {
		strs = append(strs, l.GetUrl(), l.GetText(), l.GetRel())
		if parseHTTPURL(l.GetUrl()) == nil {
			t.Errorf("link %q is not an absolute http(s) URL", l.GetUrl())
		}
	}
	for _, m := range doc.GetMedia() {
		strs = append(strs, m.GetType(), m.GetUrl(), m.GetAltText(), m.GetMimeType())
		if !slices.Contains([]string{mediaImage, mediaVideo, mediaAudio, mediaFile}, m.GetType()) {
			t.Errorf("media type %q", m.GetType())
		}
	}
	lin := doc.GetLineage()
	strs = append(strs, lin.GetEventId(), lin.GetEventType(), lin.GetWorker(), lin.GetStage(), lin.GetStageVersion())
	for _, s := range strs {
		if !utf8.ValidString(s) {
			t.Errorf("invalid UTF-8: %q", s)
		}
	}
	if _, err := proto.Marshal(doc); err != nil {
		t.Errorf("marshal: %v", err)
	}
}

// deterministic structures a deep copy of in a second time and asserts that
// the two documents marshal to the same bytes.
func deterministic[P proto.Message](t *testing.T, cfg Config, src Source, in P, fn func(Config, Source, P) (*fairstreampb.Document, error), first *fairstreampb.Document) {
	t.Helper()
	again, err := fn(cfg, src, proto.Clone(in).(P))
	if err != nil {
		t.Fatalf("second run: %v", err)
	}
	opts := proto.MarshalOptions{Deterministic: true}
	a, err1 := opts.Marshal(first)
	b, err2 := opts.Marshal(again)
	if err1 != nil || err2 != nil || string(a) != string(b) {
		t.Errorf("two runs on the same input differ:\n%s\n%s", prototext.Format(first), prototext.Format(again))
	}
}

func TestFindURLs(t *testing.T) {
	tests := []struct {
		text string
		want []string
	}{
		{"see https://example.org/a.", []string{"https://example.org/a"}},
		{"(https://en.wikipedia.org/wiki/Go_(game)) and HTTP://EXAMPLE.ORG/X?", []string{"https://en.wikipedia.org/wiki/Go_(game)", "HTTP://EXAMPLE.ORG/X"}},
		{"[docs](https://docs.example.org/x) **https://bold.example/**", []string{"https://docs.example.org/x", "https://bold.example/"}},
		{"看这个https://example.cn/页面。很好", []string{"https://example.cn/页面"}},
		{"رابط: https://example.org/ar، شكرا", []string{"https://example.org/ar"}},
		{"party https://example.org/🎉 now", []string{"https://example.org/"}},
		{"nohttps://x.org http:/broken https:// https://ok.example", []string{"https://ok.example"}},
		{`"https://q.example/a" <https://angle.example/b>`, []string{"https://q.example/a", "https://angle.example/b"}},
	}
	for _, tc := range tests {
		var got []string
		for _, sp := range findURLs(tc.text) {
			got = append(got, tc.text[sp.start:sp.end])
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("findURLs(%q) = %q, want %q", tc.text, got, tc.want)
		}
	}
}

func TestTextTags(t *testing.T) {
	tests := []struct {
		text               string
		hashtags, mentions []string
	}{
		{"Launch #FairAI today, thanks @ada_l and @Bob!", []string{"FairAI"}, []string{"ada_l", "Bob"}},
		{"#1 is not a tag, #v2 is; mail ops@example.org; C#sharp; &#39;x", []string{"v2"}, nil},
		{"https://example.org/page#section https://medium.com/@writer/post", nil, nil},
		{"العربية #ذكاء_اصطناعي و #日本語タグ と #한국어 ＃全角 ＠fullwidth_user", []string{"ذكاء_اصطناعي", "日本語タグ", "한국어", "全角"}, []string{"fullwidth_user"}},
		{"##double #a#b @x@y", []string{"a"}, []string{"x"}},
		{"# Heading in markdown\n#tag", []string{"tag"}, nil},
	}
	for _, tc := range tests {
		if got := textHashtags(tc.text); !slices.Equal(got, tc.hashtags) {
			t.Errorf("textHashtags(%q) = %q, want %q", tc.text, got, tc.hashtags)
		}
		if got := textMentions(tc.text); !slices.Equal(got, tc.mentions) {
			t.Errorf("textMentions(%q) = %q, want %q", tc.text, got, tc.mentions)
		}
	}
}

func TestSourceLanguage(t *testing.T) {
	for tag, want := range map[string]string{
		"en": "en", "en-us": "en", "pt_BR": "pt", "ZH-TW": "zh", "in": "id", "iw": "he", "tl": "tl", "deu": "de",
		"und": "", "zxx": "", "qme": "", "qht": "", "art": "", "": "", "xx": "", "english": "",
	} {
		if got := sourceLanguage(tag); got != want {
			t.Errorf("sourceLanguage(%q) = %q, want %q", tag, got, want)
		}
	}
}

func TestPerson(t *testing.T) {
	tests := []struct{ display, username, want string }{
		{"Ada Lovelace", "ada_l", "Ada Lovelace (@ada_l)"},
		{"", "ada_l", "@ada_l"},
		{"ada_l", "@ada_l", "@ada_l"},
		{" Jürgen  Müller ", "", "Jürgen Müller"},
		{"", "", ""},
	}
	for _, tc := range tests {
		if got := person(tc.display, tc.username); got != tc.want {
			t.Errorf("person(%q, %q) = %q, want %q", tc.display, tc.username, got, tc.want)
		}
	}
}

// TestHostileItemsStayCheap: items built to make the work grow with the
// square of their size (many entities over a long text) are structured
// quickly, within the caps.
func TestHostileItemsStayCheap(t *testing.T) {
	cfg := DefaultConfig()
	start := time.Now()

	text := strings.Repeat("https://t.co/a ", 20_000)
	var urls []*fairstreampb.UrlEntity
	var tags []*fairstreampb.TextEntity
	for i := range 50_000 {
		urls = append(urls, &fairstreampb.UrlEntity{Start: int32(i), End: int32(i + 14), Url: "https://t.co/a", ExpandedUrl: "https://example.org/a"})
		tags = append(tags, &fairstreampb.TextEntity{Start: int32(i), Tag: fmt.Sprint("t", i)})
	}
	tw := &fairstreampb.RawTweet{Id: "1", Text: text, Entities: &fairstreampb.TweetEntities{Urls: urls, Hashtags: tags}}
	doc, err := Tweet(cfg, testSource("raw.tweet/v1"), tw)
	if err != nil {
		t.Fatal(err)
	}
	checkDoc(t, cfg, doc)
	if len(doc.GetHashtags()) != maxTags {
		t.Errorf("%d hashtags, want the cap %d", len(doc.GetHashtags()), maxTags)
	}

	long := strings.Repeat("😀 #tag @user ", 50_000)
	units := int32(len(utf16.Encode([]rune(long))))
	var ents []*fairstreampb.TelegramEntity
	for i := range int32(50_000) {
		ents = append(ents, &fairstreampb.TelegramEntity{Type: "hashtag", Offset: 0, Length: units},
			&fairstreampb.TelegramEntity{Type: "mention", Offset: i, Length: maxSpanUnits})
	}
	tg := &fairstreampb.RawTelegramMessage{MessageId: 1, Chat: &fairstreampb.TelegramChat{Id: 1}, Text: long, Entities: ents}
	if doc, err = TelegramMessage(cfg, testSource("raw.telegram/v1"), tg); err != nil {
		t.Fatal(err)
	}
	checkDoc(t, cfg, doc)

	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %s", d)
	}
}
