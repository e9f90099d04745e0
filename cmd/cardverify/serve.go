package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/cardverify/cardverify/cmd/internal/job"
	"github.com/cardverify/cardverify/cmd/internal/web"
	"github.com/cardverify/cardverify/pipeline/msg"
)

// serveConfig is what "cardverify serve" was asked to do.
type serveConfig struct {
	Addr        string
	Data        string
	PasswordEnv string
	MaxUploadMB int64
	Price       float64
	API         job.Config
}

func (a *app) parseServe(args []string) (serveConfig, error) {
	var c serveConfig
	fs := a.newFlags("serve")
	fs.StringVar(&c.Addr, "addr", defaultAddr, "listen `address`; other than loopback needs --password-env")
	fs.StringVar(&c.Data, "data", "", "`directory` of the jobs (default: cardverify/console in the user's config directory)")
	fs.StringVar(&c.PasswordEnv, "password-env", "", "environment `variable` holding the console's password")
	fs.Int64Var(&c.MaxUploadMB, "max-upload", web.DefaultMaxUpload>>20, "largest upload in `MiB`")
	c.API.APIFlags(fs)
	fs.StringVar(&c.API.Lang, "lang", "zh", "language of serve's terminal messages and of the outputs' default: zh or en (each page has its own switch)")
	job.KeyFileFlag(fs, &c.API.KeyFile)
	// --price may come with run's flags; define it here only when not.
	price := fs.Lookup("price")
	if price == nil {
		fs.Float64Var(&c.Price, "price", 0, "price of one billed call in `yuan`, to show the most a job can cost")
	}
	pos, err := parse(fs, args)
	if err != nil {
		return c, err
	}
	if len(pos) != 0 {
		return c, usagef(msg.UsageNoArgs, "serve", len(pos))
	}
	if price != nil {
		if c.Price, err = strconv.ParseFloat(price.Value.String(), 64); err != nil {
			return c, usagef(msg.UsageFlags, "--price: "+err.Error())
		}
	}
	c.API.Secrets(a.getenv)
	if err := c.API.Check(); err != nil {
		return c, err
	}
	if c.MaxUploadMB < 1 || c.Price < 0 {
		return c, usagef(msg.ServeNums)
	}
	if c.Data == "" {
		dir, err := os.UserConfigDir()
		if err != nil {
			return c, usagef(msg.ServeNoData, err)
		}
		c.Data = filepath.Join(dir, "cardverify", "console")
	}
	return c, nil
}

// serve runs the web console until the first SIGINT/SIGTERM: the running
// job then stops gracefully (calls in flight finish) and serve ends.
func (a *app) serve(ctx context.Context, args []string) error {
	c, err := a.parseServe(args)
	if err != nil {
		return err
	}
	password := ""
	if c.PasswordEnv != "" {
		if password = a.getenv(c.PasswordEnv); password == "" {
			return usagef(msg.ServeEmptyPw, c.PasswordEnv)
		}
	}
	jobs, err := web.OpenJobs(c.Data, c.API, version, a.now)
	if err != nil {
		return err
	}
	srv, err := web.New(jobs, web.Options{Addr: c.Addr, Password: password, MaxUpload: c.MaxUploadMB << 20,
		Price: c.Price, Sandbox: c.API.Sandbox, Now: a.now, Log: a.stderr})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	base, cancel := context.WithCancel(context.Background())
	defer cancel()
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, BaseContext: func(net.Listener) context.Context { return base }}
	served := make(chan error, 1)
	// The serving goroutine ends when hs is shut down below.
	go func() { served <- hs.Serve(ln) }()
	jobs.Start(ctx)
	fmt.Fprintln(a.stderr, a.say(msg.ServeURL, "http://"+ln.Addr().String()+"/", c.Data))
	if c.API.Sandbox {
		fmt.Fprintln(a.stderr, a.say(msg.SandboxStart))
	}
	select {
	case <-a.stop:
	case <-ctx.Done():
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	}
	fmt.Fprintln(a.stderr, a.say(msg.ServeStopping))
	cerr := jobs.Close(ctx)
	cancel() // ends the progress streams
	sctx, scancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer scancel()
	if err := hs.Shutdown(sctx); err != nil {
		hs.Close()
	}
	if cerr != nil && !errors.Is(cerr, context.Canceled) {
		return cerr
	}
	return nil
}
