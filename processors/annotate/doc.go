// Package annotate is the "annotate" processing stage: it reads structured
// documents (doc.structured/v1 on docs.structured.v1) and writes each with
// what was found in it (doc.annotated/v1, an [fairstreampb.AnnotatedDocument]
// on docs.annotated.v1, keyed by the document ID, with the input event's
// lineage and stage "annotate" at [Version]).
//
// [Stage] builds the stage for streams.NewRunner; its name [Name] is also
// its consumer group and never changes. [Annotate] is the pure function the
// stage calls: the lexicon annotations of one document, a deterministic
// function of the document, the [Config] and [Version], so that replaying
// the log gives byte-identical output.
//
// What is annotated is the title, a blank line and the text (or whichever
// is not empty), read as valid UTF-8 (a bad byte is U+FFFD) and cut to
// [Config.MaxTextChars] code points; annotated_chars and text_capped record
// it. Every offset is in code points into that text.
//
//   - Language: the document's own (the structure stage's) when it has one,
//     else detected by github.com/abadojack/whatlanggo as the structure
//     stage does, on the first 2 KiB, from 40 letters up.
//   - Sentiment: VADER (github.com/jonreiter/govader: its lexicon of English
//     words, slang, emoticons and emoji, boosters, negation and "but"),
//     compound in [-1, 1] and the usual labels: positive from 0.05,
//     negative from -0.05, neutral between. Text in another language is
//     scored only on its words without letters (emoji, emoticons), because
//     the English lexicon misreads other languages ("die" in German).
//   - Entities, by pattern: URLs (http://, https://, www.), emails, hashtags
//     (any script, at least one letter), mentions (ASCII, up to 15), and
//     cashtags ('$' and one to six ASCII letters, with an optional ".B"
//     class: "$ETH" is one, "$5" and "$ETH2" are not); a tag inside a URL or
//     an email is part of it. The value of a tag is lower-cased without its
//     sigil.
//   - Entities, named: persons, organisations and places from an embedded
//     gazetteer (data/gazetteer.tsv: countries, major cities and regions,
//     well-known organisations and people, with aliases; the value is the
//     canonical name), matched longest first where every word is
//     capitalised, all-capital names (NASA, U.S.) only as written; and other
//     spans of two or more capitalised words, typed by a title before them
//     (Dr., President), a given name from the gazetteer at their start, or
//     an organisation word (Inc, Foundation, Bank) or place word (City,
//     River) at their end. A span that says nothing of its type is left
//     out: precision over recall.
//   - Keywords: RAKE, local to the document, with the embedded English
//     stopwords (data/stopwords_en.txt); pattern entities, punctuation,
//     numbers and one-character words end phrases; phrases of more than
//     three words are left out; ties are broken by text.
//   - Topics: the hashtags, the most used first, then the keywords.
//
// Scores are rounded to four decimals so that no float's last bits, which
// may differ between CPU architectures, reach the output.
//
// An optional LLM backend ([LLMConfig], on when llm.base_url is set) asks an
// OpenAI-compatible POST {base_url}/chat/completions (OpenAI, Ollama, vLLM,
// llama.cpp) for a summary, topics and a sentiment with its rationale, with
// response_format json_schema, and enforces that schema on the reply
// whether or not the server did: one object, every field with its type,
// no other field, a known label, compound in [-1, 1]. Requests are bounded
// by llm.timeout and llm.max_concurrency; the tokens in usage, and their
// cost at the configured prices, are counted (see [WithRegisterer]). A
// failure — a timeout, an HTTP error, a reply that breaks the schema — is
// not the stage's: the document keeps its lexicon annotations with
// llm_status "missing" and llm_error saying why, and is not retried. LLM
// fields are recorded as the model gave them and are not deterministic.
//
// An envelope on docs.structured.v1 that is not a doc.structured/v1
// document is dead-lettered by the runner to docs.structured.v1.dlq with
// the decoding error as its reason.
//
// Bump [Version] whenever a change alters the annotations of some
// document: code, embedded data, the govader or whatlanggo version, or
// DefaultConfig.
package annotate
