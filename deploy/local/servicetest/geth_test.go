package servicetest

import (
	"context"
	"crypto/ecdsa"
	"math/big"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/ethclient/simulated"
	"github.com/ethereum/go-ethereum/params"
)

// gethChain is what fairstream needs from an Ethereum JSON-RPC endpoint to pay
// someone: go-ethereum's bind/v2 role interfaces plus the chain ID and balances.
// Both *ethclient.Client (geth, an L2) and the simulated backend's client
// (`fairstream dev`) provide it, so one test body covers both.
type gethChain interface {
	bind.ContractTransactor // nonce, fees, gas estimate, send
	bind.DeployBackend      // receipts, for bind.WaitMined
	ethereum.ChainIDReader
	ethereum.ChainStateReader // balances
}

var (
	_ gethChain = (*ethclient.Client)(nil)
	_ gethChain = simulated.Client(nil)
)

const (
	// gethDevChainID is the chain ID of both geth --dev and the simulated
	// backend (params.AllDevChainProtocolChanges).
	gethDevChainID = 1337
	// gethCallTimeout bounds every single call to the chain.
	gethCallTimeout = 10 * time.Second
	// gethMineTimeout bounds the wait for a transaction's receipt.
	gethMineTimeout = 60 * time.Second
)

// gethTarget is one chain the shared test body runs against.
type gethTarget struct {
	chain gethChain
	key   *ecdsa.PrivateKey // a pre-funded account
	// seal makes the chain include pending transactions in a block; nil where
	// the chain does that by itself (geth --dev seals on demand).
	seal func()
}

// TestGethValueTransfer signs and sends a value transfer with a pre-funded key
// to a fresh address and checks the receipt and both balances: against the
// go-ethereum simulated backend (the chain of `fairstream dev`, always), and
// against the geth --dev node `deploy/local/services up geth` starts.
func TestGethValueTransfer(t *testing.T) {
	t.Run("simulated", func(t *testing.T) {
		key, err := crypto.GenerateKey()
		if err != nil {
			t.Fatalf("generate key: %v", err)
		}
		funds := new(big.Int).Mul(big.NewInt(1000), big.NewInt(params.Ether))
		backend := simulated.NewBackend(types.GenesisAlloc{
			crypto.PubkeyToAddress(key.PublicKey): {Balance: funds},
		})
		t.Cleanup(func() {
			if err := backend.Close(); err != nil {
				t.Errorf("close simulated backend: %v", err)
			}
		})
		gethTestValueTransfer(t, gethTarget{
			chain: backend.Client(),
			key:   key,
			seal:  func() { backend.Commit() },
		})
	})

	t.Run("geth-dev", func(t *testing.T) {
		rpcURL, key := gethFromEnv(t)
		ctx, cancel := context.WithTimeout(t.Context(), gethCallTimeout)
		defer cancel()
		client, err := ethclient.DialContext(ctx, rpcURL)
		if err != nil {
			t.Fatalf("dial %s: %v", rpcURL, err)
		}
		t.Cleanup(client.Close)
		gethTestValueTransfer(t, gethTarget{chain: client, key: key})
	})
}

// gethTestValueTransfer is the test body both chains run.
func gethTestValueTransfer(t *testing.T, tg gethTarget) {
	from := crypto.PubkeyToAddress(tg.key.PublicKey)

	chainID, err := gethCall(t, tg.chain.ChainID)
	if err != nil {
		t.Fatalf("eth_chainId: %v", err)
	}
	if chainID.Cmp(big.NewInt(gethDevChainID)) != 0 {
		t.Fatalf("chain ID = %v, want %d (a dev chain)", chainID, gethDevChainID)
	}

	fromBefore, err := gethCall(t, func(ctx context.Context) (*big.Int, error) { return tg.chain.BalanceAt(ctx, from, nil) })
	if err != nil {
		t.Fatalf("balance of %s: %v", from, err)
	}
	value := new(big.Int).Div(big.NewInt(params.Ether), big.NewInt(100)) // 0.01 ether
	if fromBefore.Cmp(value) <= 0 {
		t.Fatalf("balance of %s = %v wei, too little to send %v wei: is the key the chain's pre-funded developer account?", from, fromBefore, value)
	}
	t.Logf("chain %v, sender %s holds %v wei", chainID, from, fromBefore)

	toKey, err := crypto.GenerateKey()
	if err != nil {
		t.Fatalf("generate key: %v", err)
	}
	to := crypto.PubkeyToAddress(toKey.PublicKey)
	toBefore, err := gethCall(t, func(ctx context.Context) (*big.Int, error) { return tg.chain.BalanceAt(ctx, to, nil) })
	if err != nil {
		t.Fatalf("balance of %s: %v", to, err)
	}
	if toBefore.Sign() != 0 {
		t.Fatalf("fresh address %s already holds %v wei", to, toBefore)
	}

	nonce, err := gethCall(t, func(ctx context.Context) (uint64, error) { return tg.chain.PendingNonceAt(ctx, from) })
	if err != nil {
		t.Fatalf("pending nonce of %s: %v", from, err)
	}
	tip, err := gethCall(t, tg.chain.SuggestGasTipCap)
	if err != nil {
		t.Fatalf("suggest gas tip: %v", err)
	}
	head, err := gethCall(t, func(ctx context.Context) (*types.Header, error) { return tg.chain.HeaderByNumber(ctx, nil) })
	if err != nil {
		t.Fatalf("latest header: %v", err)
	}
	if head.BaseFee == nil {
		t.Fatalf("block %v has no base fee: the chain is not London-enabled", head.Number)
	}
	gas, err := gethCall(t, func(ctx context.Context) (uint64, error) {
		return tg.chain.EstimateGas(ctx, ethereum.CallMsg{From: from, To: &to, Value: value})
	})
	if err != nil {
		t.Fatalf("estimate gas: %v", err)
	}
	feeCap := new(big.Int).Add(new(big.Int).Mul(head.BaseFee, big.NewInt(2)), tip)
	tx, err := types.SignNewTx(tg.key, types.LatestSignerForChainID(chainID), &types.DynamicFeeTx{
		ChainID:   chainID,
		Nonce:     nonce,
		GasTipCap: tip,
		GasFeeCap: feeCap,
		Gas:       gas,
		To:        &to,
		Value:     value,
	})
	if err != nil {
		t.Fatalf("sign transaction: %v", err)
	}
	if _, err := gethCall(t, func(ctx context.Context) (struct{}, error) { return struct{}{}, tg.chain.SendTransaction(ctx, tx) }); err != nil {
		t.Fatalf("send transaction %s: %v", tx.Hash(), err)
	}
	if tg.seal != nil {
		tg.seal()
	}

	mineCtx, cancel := context.WithTimeout(t.Context(), gethMineTimeout)
	defer cancel()
	receipt, err := bind.WaitMined(mineCtx, tg.chain, tx.Hash())
	if err != nil {
		t.Fatalf("receipt of %s: %v", tx.Hash(), err)
	}
	if receipt.Status != types.ReceiptStatusSuccessful {
		t.Fatalf("transaction %s failed in block %v (status %d)", tx.Hash(), receipt.BlockNumber, receipt.Status)
	}
	t.Logf("transaction %s mined in block %v, gas used %d", tx.Hash(), receipt.BlockNumber, receipt.GasUsed)

	toAfter, err := gethCall(t, func(ctx context.Context) (*big.Int, error) { return tg.chain.BalanceAt(ctx, to, receipt.BlockNumber) })
	if err != nil {
		t.Fatalf("balance of %s: %v", to, err)
	}
	if toAfter.Cmp(value) != 0 {
		t.Fatalf("recipient balance = %v wei, want %v", toAfter, value)
	}
	fromAfter, err := gethCall(t, func(ctx context.Context) (*big.Int, error) { return tg.chain.BalanceAt(ctx, from, receipt.BlockNumber) })
	if err != nil {
		t.Fatalf("balance of %s: %v", from, err)
	}
	// The sender pays at least the value; its exact loss depends on who
	// collects the tip (geth --dev's sealer is the developer account itself).
	if maxAfter := new(big.Int).Sub(fromBefore, value); fromAfter.Cmp(maxAfter) > 0 {
		t.Fatalf("sender balance = %v wei after sending %v of %v", fromAfter, value, fromBefore)
	}
}

// gethCall runs one call to the chain under its own deadline.
func gethCall[T any](t *testing.T, call func(context.Context) (T, error)) (T, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), gethCallTimeout)
	defer cancel()
	return call(ctx)
}

// gethFromEnv returns the geth --dev endpoint and developer key that
// `deploy/local/services env` exports. When they are unset the test is skipped,
// or fails where FAIRSTREAM_TEST_REQUIRE names geth.
func gethFromEnv(t *testing.T) (string, *ecdsa.PrivateKey) {
	t.Helper()
	rpcURL := os.Getenv("FAIRSTREAM_ETH_RPC")
	hexKey := os.Getenv("FAIRSTREAM_ETH_DEV_KEY")
	if rpcURL == "" || hexKey == "" {
		msg := "geth is missing: FAIRSTREAM_ETH_RPC and FAIRSTREAM_ETH_DEV_KEY are not set; " +
			`start it with 'deploy/local/services up geth' and then 'eval "$(deploy/local/services env)"'`
		required := strings.Split(os.Getenv("FAIRSTREAM_TEST_REQUIRE"), ",")
		if slices.ContainsFunc(required, func(s string) bool { return strings.TrimSpace(s) == "geth" }) {
			t.Fatal(msg + " (FAIRSTREAM_TEST_REQUIRE names geth)")
		}
		t.Skip(msg)
	}
	key, err := crypto.HexToECDSA(strings.TrimPrefix(strings.TrimSpace(hexKey), "0x"))
	if err != nil {
		t.Fatalf("FAIRSTREAM_ETH_DEV_KEY is not a hex secp256k1 private key: %v", err)
	}
	return rpcURL, key
}
