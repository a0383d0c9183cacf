package sbom

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	cdx "github.com/CycloneDX/cyclonedx-go"

	catalog "github.com/mmbuild/mmbuild/sdk/sbom"
)

var cdxAlgs = map[string]cdx.HashAlgorithm{"sha256": cdx.HashAlgoSHA256, "sha512": cdx.HashAlgoSHA512, "sha1": cdx.HashAlgoSHA1}

// CycloneDXDocument returns the CycloneDX 1.6 JSON BOM of in, written by
// cyclonedx-go: each artifact a file component (its hashes, a distribution
// reference where it was published) whose nested components are the files
// and packages found in it; the source and the materials as components
// with the role mmbuild:role = source / material, which every artifact
// depends on; the tools in metadata.tools. The serial number is derived
// from the inputs (a UUID of their hash), so the bytes are reproducible.
func CycloneDXDocument(in Inputs) ([]byte, error) {
	in, sum, err := in.prepared()
	if err != nil {
		return nil, err
	}
	bom := cdx.NewBOM()
	bom.SpecVersion = cdx.SpecVersion1_6
	bom.SerialNumber = "urn:uuid:" + uuidOf(sum)
	var tools []cdx.Component
	if !slices.ContainsFunc(in.Tools, func(t Tool) bool { return t.Name == "mmbuild" }) {
		tools = append(tools, cdx.Component{Type: cdx.ComponentTypeApplication, Name: "mmbuild"})
	}
	for _, t := range in.Tools {
		tools = append(tools, cdx.Component{Type: cdx.ComponentTypeApplication, Name: t.Name, Version: t.Version})
	}
	bom.Metadata = &cdx.Metadata{
		Timestamp: in.Created.Format("2006-01-02T15:04:05Z"),
		Tools:     &cdx.ToolsChoice{Components: &tools},
		Component: &cdx.Component{BOMRef: "build", Type: cdx.ComponentTypeApplication, Name: in.Name},
	}
	refs := &refSet{used: map[string]bool{}}
	var components []cdx.Component
	var inputs []string
	if in.Source != nil {
		ref := refs.make("source")
		inputs = append(inputs, ref)
		components = append(components, cdx.Component{
			BOMRef: ref, Type: cdx.ComponentTypeApplication, Name: in.Source.Repo, Version: in.Source.Commit,
			ExternalReferences: &[]cdx.ExternalReference{{Type: cdx.ERTypeVCS, URL: in.Source.Repo}},
			Properties:         &[]cdx.Property{{Name: "mmbuild:role", Value: "source"}, {Name: "mmbuild:commit", Value: in.Source.Commit}},
		})
	}
	for _, m := range in.Materials {
		ref := refs.make("material:" + m.URI)
		inputs = append(inputs, ref)
		c := cdx.Component{
			BOMRef: ref, Type: cdx.ComponentTypeFile, Name: materialName(m.URI), Hashes: hashes(m.Digest),
			Properties: &[]cdx.Property{{Name: "mmbuild:role", Value: "material"}, {Name: "mmbuild:uri", Value: m.URI}},
		}
		if downloadable(m.URI) {
			c.ExternalReferences = &[]cdx.ExternalReference{{Type: cdx.ERTypeDistribution, URL: m.URI}}
		}
		components = append(components, c)
	}
	var deps []cdx.Dependency
	var artifactRefs []string
	for _, a := range in.Artifacts {
		c := artifactComponent(a, refs)
		artifactRefs = append(artifactRefs, c.BOMRef)
		components = append(components, c)
		if len(inputs) > 0 {
			d := append([]string(nil), inputs...)
			deps = append(deps, cdx.Dependency{Ref: c.BOMRef, Dependencies: &d})
		}
	}
	bom.Components = &components
	deps = append([]cdx.Dependency{{Ref: "build", Dependencies: &artifactRefs}}, deps...)
	bom.Dependencies = &deps

	var buf bytes.Buffer
	enc := cdx.NewBOMEncoder(&buf, cdx.BOMFileFormatJSON)
	enc.SetPretty(true)
	enc.SetEscapeHTML(false)
	if err := enc.EncodeVersion(bom, cdx.SpecVersion1_6); err != nil {
		return nil, fmt.Errorf("encoding SBOM: %w", err)
	}
	return buf.Bytes(), nil
}

// artifactComponent is an artifact as a file component whose nested
// components are the files and packages the cataloger found in it.
func artifactComponent(a Artifact, refs *refSet) cdx.Component {
	ref := refs.make("artifact:" + a.Name)
	c := cdx.Component{
		BOMRef: ref, Type: cdx.ComponentTypeFile, Name: a.Name, Hashes: hashes(a.Digest),
		Properties: &[]cdx.Property{{Name: "mmbuild:role", Value: "artifact"}, {Name: "mmbuild:size", Value: fmt.Sprint(a.Size)}},
	}
	if a.DownloadLocation != "" {
		c.ExternalReferences = &[]cdx.ExternalReference{{Type: cdx.ERTypeDistribution, URL: a.DownloadLocation}}
	}
	if a.Contents == nil {
		return c
	}
	var nested []cdx.Component
	for _, f := range a.Contents.Files {
		nested = append(nested, cdx.Component{
			BOMRef: refs.make(ref + "/file:" + f.Path), Type: cdx.ComponentTypeFile, Name: f.Path,
			Hashes:     hashes(map[string]string{"sha256": f.SHA256, "sha1": f.SHA1}),
			Properties: &[]cdx.Property{{Name: "mmbuild:size", Value: fmt.Sprint(f.Size)}},
		})
	}
	for _, p := range a.Contents.Packages {
		nested = append(nested, packageComponent(refs.make(ref+"/pkg:"+firstNonEmpty(p.PURL, p.Name+"@"+p.Version)), p))
	}
	if len(nested) > 0 {
		c.Components = &nested
	}
	return c
}

// packageComponent is a package found inside an artifact: a library with
// its purl, ecosystem, locations and licenses (an SPDX id where it is one,
// else a license name).
func packageComponent(ref string, p catalog.Package) cdx.Component {
	pc := cdx.Component{BOMRef: ref, Type: cdx.ComponentTypeLibrary, Name: p.Name, Version: p.Version, PackageURL: p.PURL}
	var props []cdx.Property
	if p.Type != "" {
		props = append(props, cdx.Property{Name: "mmbuild:package-type", Value: p.Type})
	}
	for _, l := range p.Locations {
		props = append(props, cdx.Property{Name: "mmbuild:location", Value: l})
	}
	if len(props) > 0 {
		pc.Properties = &props
	}
	if len(p.Licenses) > 0 {
		ls := cdx.Licenses{}
		for _, l := range p.Licenses {
			if spdxLicenseID.MatchString(l) {
				ls = append(ls, cdx.LicenseChoice{License: &cdx.License{ID: l}})
			} else {
				ls = append(ls, cdx.LicenseChoice{License: &cdx.License{Name: l}})
			}
		}
		pc.Licenses = &ls
	}
	return pc
}

func hashes(d map[string]string) *[]cdx.Hash {
	var out []cdx.Hash
	for _, c := range checksums {
		if v, ok := d[c.alg]; ok && isHex(v, c.hex) {
			out = append(out, cdx.Hash{Algorithm: cdxAlgs[c.alg], Value: strings.ToLower(v)})
		}
	}
	if len(out) == 0 {
		return nil
	}
	return &out
}

// uuidOf formats the first 128 bits of a hex digest as an RFC 4122 UUID
// (version 5 bits set: a name-based UUID).
func uuidOf(hexSum string) string {
	b := []byte(hexSum[:32])
	b[12] = '5'                  // version
	b[16] = "89ab"[int(b[16]%4)] // variant
	return string(b[0:8]) + "-" + string(b[8:12]) + "-" + string(b[12:16]) + "-" + string(b[16:20]) + "-" + string(b[20:32])
}

// refSet makes bom-refs unique in a BOM.
type refSet struct{ used map[string]bool }

func (s *refSet) make(base string) string {
	ref := base
	for n := 2; s.used[ref]; n++ {
		ref = fmt.Sprintf("%s#%d", base, n)
	}
	s.used[ref] = true
	return ref
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
