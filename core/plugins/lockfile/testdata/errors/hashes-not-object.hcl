plugin "make" {
  version = "0.1.0"
  hashes = ["sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"]
}
