<?php
// php example.php URL KEY SERVICES_JSON REFILLABLE_IDS_JSON
// The closing lines of the panels' PHP example, run as written: place orders, read
// $order->order, multiStatus, then (array) multiRefill -> array_column('refill') ->
// multiRefillStatus. Prints what each step saw, as JSON.
error_reporting(E_ALL);
set_error_handler(function ($no, $str, $file, $line) {
    fwrite(STDERR, "PHP error: $str at $file:$line\n");
    exit(3);
});
require __DIR__ . '/Api.php';

$api = new Api();
$api->api_url = $argv[1];
$api->api_key = $argv[2];
$s = json_decode($argv[3], true);  // service ids by type name
$refillable = json_decode($argv[4], true);

$services = $api->services();
$balance = $api->balance();
$orders = [];
$orders['default'] = $api->order(['service' => $s['Default'], 'link' => 'http://example.com/test', 'quantity' => 100, 'runs' => 2, 'interval' => 5]);
$orders['comments'] = $api->order(['service' => $s['Custom Comments'], 'link' => 'http://example.com/test', 'comments' => "good pic\ngreat photo\n:)\n;)"]);
$orders['mentions_list'] = $api->order(['service' => $s['Mentions Custom List'], 'link' => 'http://example.com/test', 'usernames' => "test\nexample\nfb"]);
$orders['mentions_followers'] = $api->order(['service' => $s['Mentions User Followers'], 'link' => 'http://example.com/test', 'quantity' => 1000, 'username' => "test"]);
$orders['package'] = $api->order(['service' => $s['Package'], 'link' => 'http://example.com/test']);
$orders['subscription_old'] = $api->order(['service' => $s['Subscriptions'], 'username' => 'username', 'min' => 100, 'max' => 110, 'posts' => 0, 'delay' => 30, 'expiry' => '11/11/2030']);
$orders['subscription_new'] = $api->order(['service' => $s['Subscriptions'], 'username' => 'username2', 'min' => 100, 'max' => 110, 'old_posts' => 5, 'delay' => 30, 'expiry' => '11/11/2030']);
$orders['comment_likes'] = $api->order(['service' => $s['Comment Likes'], 'link' => 'http://example.com/test', 'quantity' => 100, 'username' => "test"]);
$order = $api->order(['service' => $s['Poll'], 'link' => 'http://example.com/test', 'quantity' => 100, 'answer_number' => '7']);
$orders['poll'] = $order;

foreach ($orders as $name => $placed) {
    if (!isset($placed->order)) {  // the example would stop here too: say which order failed
        echo json_encode(['failed' => $name, 'orders' => $orders]), "\n";
        exit(4);
    }
}
$status = $api->status($order->order);
$statuses = $api->multiStatus([$orders['default']->order, $orders['comments']->order, 1]);
$refill = (array) $api->multiRefill($refillable);
$refillIds = array_column($refill, 'refill');
$refillStatuses = null;
if ($refillIds) {
    $refillStatuses = $api->multiRefillStatus($refillIds);
}

echo json_encode([
    'services' => count($services),
    'first_service_is_object' => is_object($services[0]),
    'balance' => $balance,
    'orders' => array_map(function ($o) { return is_object($o) ? get_object_vars($o) : $o; }, $orders),
    'status' => $status,
    'status_of_poll' => $status->status,
    'statuses' => $statuses,
    'statuses_keys' => array_keys(get_object_vars($statuses)),
    'refill' => $refill,
    'refill_ids' => $refillIds,
    'refill_statuses' => $refillStatuses,
]), "\n";
