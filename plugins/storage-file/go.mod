module github.com/mmbuild/mmbuild/plugins/storage-file

go 1.26.0

require github.com/mmbuild/mmbuild/sdk v0.0.0

replace github.com/mmbuild/mmbuild/sdk => ../../sdk
