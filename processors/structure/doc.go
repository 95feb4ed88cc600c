// Package structure is the "structure" processing stage: it turns raw events
// into the one structured shape every later stage reads, a
// [fairstreampb.Document].
//
// [Stage] is the stage the runner in streams/ runs: it consumes raw.web.v1,
// calls [WebPage] and produces to docs.structured.v1, or to raw.web.v1.dlq
// for pages that can never be structured. The connectors issue adds the
// other raw types.
//
// [WebPage] structures one fetched web page (a [fairstreampb.RawWebPage]):
//
//   - Pages that carry no document (a non-2xx status, a redirect, an empty
//     body) give (nil, nil): the caller counts them as skipped.
//   - Pages that can never be structured (a binary or unsupported content
//     type, a body over [Config.MaxBodyBytes], a charset that cannot be
//     decoded, no absolute http(s) URL) give an error wrapping
//     [ErrUnprocessable] whose text says exactly what is wrong.
//   - Everything else gives a Document: the main text found by a
//     Readability port (codeberg.org/readeck/go-readability), falling back
//     to the page's visible body text without navigation, header, footer and
//     aside; title, description, authors, publication time, links and media
//     from the page's metadata and markup; and the language detected from the
//     text (github.com/abadojack/whatlanggo), falling back to the declared
//     <html lang>.
//
// The body is decoded to UTF-8 from the charset in a byte-order mark, the
// Content-Type header, the XML declaration (XHTML only) or a <meta> tag within
// the first 1024 bytes, in that order; an undeclared body is UTF-8 when it is
// valid UTF-8 and windows-1252 otherwise, as browsers do.
//
// Choices worth knowing: whitespace, including no-break spaces, is collapsed
// to single spaces, with "\n" for line breaks and "\n\n" between paragraphs
// (plain text keeps its spacing within lines); links are taken from the whole
// page, navigation included, but same-document links ("#top") are not; a body
// with NUL bytes, or with more than 10% of its bytes invalid UTF-8 or control
// characters, is binary, while a few bad bytes become U+FFFD; pages whose
// elements nest deeper than golang.org/x/net/html allows (512) are rebuilt
// flat enough to parse rather than rejected; pages of more than 100,000
// elements skip Readability and use the visible body text.
//
// The output is a pure, deterministic function of the configuration and the
// input: the same page gives a byte-identical Document on every machine, so a
// result can be checked by running the stage again. Bump [Version] whenever a
// change alters the output for some input.
package structure
