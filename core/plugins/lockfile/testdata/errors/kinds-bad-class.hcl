plugin "git" {
  version = "1.0.0"
  kinds   = ["storage:git+https", "source:git"]
  hashes  = { linux_amd64 = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" }
}
