package proxy

import (
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/frontgate/gateway/config"
	"github.com/frontgate/gateway/proxy/page"
)

// maxBrandFile bounds a logo or stylesheet, which the gateway keeps in memory.
const maxBrandFile = 1 << 20

// loadBrand reads the logo and stylesheet and parses the page templates of cfg's pages.
// An error names the key in the config file.
func (h *Handler) loadBrand(cfg *config.Config) error {
	p := cfg.Pages
	var err error
	if p.Logo != "" {
		if h.logo, err = readBrandFile(p.Logo); err != nil {
			return cfg.Errorf("pages.logo", err)
		}
		h.logoType = http.DetectContentType(h.logo)
		if strings.HasSuffix(strings.ToLower(p.Logo), ".svg") {
			// An SVG can hold script; served as an image under the pages' CSP, it runs
			// none, and nosniff keeps browsers from reading it as anything else.
			h.logoType = "image/svg+xml"
		}
		if !strings.HasPrefix(h.logoType, "image/") {
			return cfg.Errorf("pages.logo", fmt.Errorf("%s is not an image (%s)", p.Logo,
				h.logoType))
		}
	}
	if p.Stylesheet != "" {
		if h.customCSS, err = readBrandFile(p.Stylesheet); err != nil {
			return cfg.Errorf("pages.stylesheet", err)
		}
	}
	h.pages, err = page.NewRenderer(page.Brand{Logo: h.logo != nil,
		CustomCSS: h.customCSS != nil, Templates: p.Templates})
	if err != nil {
		return cfg.Errorf("pages.templates", err)
	}
	return nil
}

func readBrandFile(path string) ([]byte, error) {
	f, _, err := config.OpenPlain(path)
	if err != nil {
		return nil, fmt.Errorf("reading page branding: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxBrandFile+1))
	if err != nil {
		return nil, fmt.Errorf("reading page branding: %w", err)
	}
	if len(b) > maxBrandFile {
		return nil, fmt.Errorf("page branding file %s is larger than 1 MiB", path)
	}
	return b, nil
}
