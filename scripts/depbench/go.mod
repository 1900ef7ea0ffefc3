module github.com/go-diaspora/federation/scripts/depbench

go 1.26.0

require github.com/go-diaspora/federation v0.0.0

require (
	github.com/beevik/etree v1.8.1
	golang.org/x/sys v0.50.0 // indirect
)

replace github.com/go-diaspora/federation => ../..
