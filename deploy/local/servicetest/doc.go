// Package servicetest holds the integration tests that prove fairstream's Go clients work against the real servers deploy/local/services starts (Milvus Lite, geth, …).
package servicetest
