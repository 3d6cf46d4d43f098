package taskerevents

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configtls"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// selfSigned writes a throwaway certificate and key for 127.0.0.1.
func selfSigned(t *testing.T) (certFile, keyFile string) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:   time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	kder, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600))
	return certFile, keyFile
}

// Plain-text clients knocking on a TLS endpoint: ten failed handshakes
// from one address make one WARN line without a stack trace.
func TestFailedTLSHandshakesAreLoggedOncePerSource(t *testing.T) {
	certFile, keyFile := selfSigned(t)
	cfg := testConfig()
	tls := configtls.NewDefaultServerConfig()
	tls.CertFile, tls.KeyFile = certFile, keyFile
	cfg.ServerConfig.TLS = configoptional.Some(tls)
	core, logs := observer.New(zapcore.InfoLevel)
	set := receiverSettings()
	set.Logger = zap.New(core, zap.AddStacktrace(zapcore.ErrorLevel))
	r, err := newReceiver(cfg, set, new(consumertest.LogsSink))
	require.NoError(t, err)
	require.NoError(t, r.Start(t.Context(), componenttest.NewNopHost()))
	// not t.Context(): it is canceled before cleanups run, and a shutdown
	// that finds a connection still closing then fails with its error
	t.Cleanup(func() { require.NoError(t, r.Shutdown(context.Background())) })

	for range 10 {
		conn, err := net.Dial("tcp", r.addr.String())
		require.NoError(t, err)
		// not TLS, and not HTTP either (for plain HTTP the server answers
		// 400 before it logs): the server logs, then closes
		_, _ = conn.Write([]byte("hello, not a TLS client\r\n"))
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err = conn.Read(make([]byte, 512))
		require.Error(t, err, "the server closes the connection")
		conn.Close()
	}
	entries := logs.FilterMessage("TLS handshake failed").All()
	require.Len(t, entries, 1)
	assert.Equal(t, zapcore.WarnLevel, entries[0].Level)
	assert.Empty(t, entries[0].Stack)
	assert.Equal(t, "127.0.0.1", entries[0].ContextMap()["source"])
	assert.Zero(t, logs.FilterLevelExact(zapcore.ErrorLevel).Len())
}
