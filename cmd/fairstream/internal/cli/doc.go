// Package cli is the fairstream command line: cobra commands wired to the
// components, and the only place that reads configuration (viper: the file
// fairstream.yaml, FAIRSTREAM_* environment variables and flags, in
// increasing order of precedence).
package cli
