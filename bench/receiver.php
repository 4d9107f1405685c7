<?php
// receiver.php -- the usual PHP webhook receiver, the way most are written:
// verify the Standard Webhooks signature (hash_hmac + hash_equals, with the
// timestamp tolerance), json_decode the body, check the fields, append the
// id to a file under flock, answer 202. No fsync and no dedupe: it is the
// baseline for "what people deploy", not a receiver with hookgate's
// guarantees. Secret and file come from the FastCGI environment
// (lighttpd's bin-environment): BENCH_SECRET, BENCH_IDS.

function answer(int $code, string $status, string $error = ''): void
{
	http_response_code($code);
	header('Content-Type: application/json');
	echo json_encode($error === '' ? ['status' => $status]
	    : ['status' => $status, 'error' => $error]), "\n";
	exit;
}

if ($_SERVER['REQUEST_METHOD'] !== 'POST')
	answer(405, 'rejected', 'POST only');

$body = file_get_contents('php://input');
$id = $_SERVER['HTTP_WEBHOOK_ID'] ?? '';
$ts = $_SERVER['HTTP_WEBHOOK_TIMESTAMP'] ?? '';
$sigs = $_SERVER['HTTP_WEBHOOK_SIGNATURE'] ?? '';
if ($id === '' || !ctype_digit($ts) || $sigs === '')
	answer(401, 'rejected', 'missing header');
if (abs(time() - (int)$ts) > 86400)
	answer(401, 'rejected', 'stale timestamp');

$secret = getenv('BENCH_SECRET');
$key = base64_decode(substr($secret, strlen('whsec_')));
$want = 'v1,' . base64_encode(hash_hmac('sha256', "$id.$ts.$body", $key, true));
$ok = false;
foreach (explode(' ', $sigs) as $s)
	if (hash_equals($want, $s))
		$ok = true;
if (!$ok)
	answer(401, 'rejected', 'no matching signature');

$ev = json_decode($body, true, 64);
if (!is_array($ev))
	answer(400, 'rejected', 'not JSON');
foreach (['id', 'type', 'created_at'] as $f)
	if (!isset($ev[$f]) || !is_string($ev[$f]))
		answer(422, 'rejected', $f);
if (!isset($ev['data']) || !is_array($ev['data']))
	answer(422, 'rejected', 'data');

$f = fopen(getenv('BENCH_IDS'), 'a');
flock($f, LOCK_EX);
fwrite($f, $ev['id'] . "\n");
flock($f, LOCK_UN);
fclose($f);
answer(202, 'accepted');
