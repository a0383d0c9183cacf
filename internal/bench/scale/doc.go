// Package scale measures how mmbuild's cost grows with the work: one 1 GiB
// artifact and 10,000 small ones, published to S3 (versitygw on loopback)
// and to file://, and each cache hit, against the bare tools in the same
// rounds. versitygw keeps its connections alive as S3 does (testservers
// starts it with --keep-alive): both tools reuse connections, and a
// figure taken before that change is not comparable. It is a test that
// runs only when asked (see TestBenchScale).
package scale
