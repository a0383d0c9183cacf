module github.com/mmbuild/mmbuild/internal/testservers

go 1.26.0
