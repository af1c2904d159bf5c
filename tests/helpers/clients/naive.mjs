// A naive API v2 client in JavaScript (Node's fetch): it sends an add again whenever it got no answer.
// Run by tests/gauntlet/test_gauntlet.py: against a lost answer it orders twice.
const url = process.env.MOCKPANEL_URL, key = process.env.MOCKPANEL_KEY;

async function call(fields) {
  for (let i = 0; i < 5; i++) {
    try {
      const answer = await fetch(url, {method: "POST", body: new URLSearchParams({key, ...fields}),
                                       signal: AbortSignal.timeout(5000)});
      return await answer.json();
    } catch (e) {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  console.error("no answer after 5 tries");
  process.exit(1);
}

console.log(await call({action: "add", service: "1", link: "https://instagram.com/p/gauntlet-js", quantity: "1000"}));
