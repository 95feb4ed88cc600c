// Package structure is the "structure" processing stage: it turns raw events
// of every source into the one structured shape every later stage reads, a
// [fairstreampb.Document].
//
// The streams runner runs one typed stage per runner, so structure is five
// stages, one per raw type, each with its own constant name, which is also
// its consumer group: [WebStage] (StageWeb, "structure-web", raw.web.v1),
// [TwitterStage] ("structure-twitter", raw.twitter.v1), [DiscordStage]
// ("structure-discord", raw.discord.v1), [TelegramStage]
// ("structure-telegram", raw.telegram.v1) and [PodcastStage]
// ("structure-podcast", raw.podcast.v1). All produce to docs.structured.v1
// and record the one stage name [Name] ("structure") and [Version] in
// lineage. [Stages] returns a [Builder] for each, which is how the CLI runs
// them all as the processor "structure".
//
// Each stage calls a pure function of the configuration and the payload —
// [WebPage], [Tweet], [DiscordMessage], [TelegramMessage], [PodcastEpisode] —
// with the same outcomes: a Document, produced keyed by its ID; (nil, nil)
// for an item that carries nothing (the runner counts it as skipped); or an
// error wrapping [ErrUnprocessable] for an item that can never be structured,
// which the stage makes permanent so that it goes to the input's dead-letter
// topic at once with the error text as its reason.
//
// Document IDs are stable per item at its source, so a later version (an
// edit) replaces the earlier one downstream:
//
//	web       web:<first 128 bits of the SHA-256 of the canonical URL, hex>
//	twitter   twitter:<tweet ID>
//	discord   discord:<channel ID>/<message ID>
//	telegram  telegram:<chat ID>/<message ID>
//	podcast   podcast:<first 128 bits of the SHA-256 of "<feed URL>\n<GUID>\n", hex>
//
// source_id is what follows "<source>:" except for the web (the canonical
// URL), Discord (the message ID, a snowflake unique across Discord) and
// podcasts (the GUID, else the enclosure URL, else the link, as the podcast
// connector does). parent_id and thread_id are source IDs in the same form,
// so they join: the replied-to tweet, Discord message or "<chat>/<message>";
// the tweet's conversation_id, the Discord thread's ID, the Telegram
// "<chat>/<message_thread_id>", the podcast's feed URL.
//
// Messages (tweets, Discord and Telegram messages) have no title. Their text
// keeps its line breaks and spacing within lines, as plain text does. Links
// are absolute http(s) URLs, normalised as the web's are, each once;
// hashtags and mentions are given without their sigil, each once ignoring
// case. Where the source marks them (X entities; Telegram entities, whose
// offsets count UTF-16 code units; Discord's <@id> markup and mentions
// array) they come from there, else from the text: a hashtag is '#' at the
// start of a word followed by letters, marks, digits or '_' of any script,
// with at least one letter; a mention is '@' at the start of a word followed
// by ASCII letters, digits or '_'. Authors are "Display Name (@username)",
// or whichever of the two the source gives. Media types are "image",
// "video", "audio" or "file"; a Telegram file is referred to by its file ID
// (the Bot API gives no URL a reader could use without the bot's token).
// The language is the one the source labels the item with, with confidence
// 1 (a tweet's lang, unless it is "und", "zxx" or another X code for no
// language; a podcast feed's language), else detected from the text without
// its links and mentions, as for the web; a Telegram user's language_code is
// the language of their app, not of the message, and is not used.
//
// Per source:
//
//   - A tweet's t.co links are replaced in the text by their expanded_url,
//     and the X API's escaping of '&', '<' and '>' is undone. Its URL is
//     https://x.com/<username>/status/<id> (https://x.com/i/status/<id>
//     without the author). A video the API gives no URL for is referred to by
//     its preview image's URL.
//   - A Discord message's user mentions are rendered "@username", custom
//     emoji ":name:"; a message whose content is empty (a bot's) takes its
//     text from its embeds. Embeds' URLs are links, image and video embeds
//     media, the first embed description the description. The URL is
//     https://discord.com/channels/<guild>/<channel>/<message>, only where
//     the guild ID is known.
//   - A Telegram message's text is its text, else its caption. Its URL is
//     https://t.me/<chat username>/<message ID> for public chats. A channel
//     post (or an anonymous admin's message) is authored by the chat.
//   - A podcast episode's title is its title; its text is the description
//     with HTML rendered to its visible text (plain text kept as it is); the
//     description is the text's first paragraph; media are the enclosure and
//     the artwork; the transcript is a link with rel "transcript".
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
// input: the same item gives a byte-identical Document on every machine, so a
// result can be checked by running the stage again. Bump [Version] whenever a
// change alters the output for some input.
package structure
