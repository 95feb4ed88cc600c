package trends

// Name is the processor's name, and Version its logic version, recorded in
// every snapshot; bump Version when the same input would rank differently.
const (
	Name    = "trends"
	Version = "1"
)

// The processor's topics: it reads Input and writes trends.<source>.v1
// (Config.Topic), Output for the default source.
const (
	Input  = "docs.structured.v1"
	Output = "trends.twitter.v1"
)
