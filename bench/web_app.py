"""The web benchmark's service (``bench_web.py``): a Flask ``GET /orders/<id>`` route doing
what such a route does: two sqlite3 queries (the order, then its items), one call to
another service over ``requests`` (stock levels from a local stub), and a JSON answer.

No tracing code: under ``opentelemetry-instrument`` the Flask, sqlite3 and requests
instrumentations make its four spans (server, two queries, client); under plain gunicorn
it runs untraced. Settings come from the environment that ``bench_web.py`` sets:
``WEB_BENCH_DB`` (the sqlite file it filled) and ``WEB_BENCH_INVENTORY_URL`` (the stub).
"""

from __future__ import annotations

import os
import sqlite3
from typing import Optional

import requests
from flask import Flask, abort, jsonify

app = Flask(__name__)
inventory = requests.Session()
_database: Optional[sqlite3.Connection] = None


def database() -> sqlite3.Connection:
    """One connection per worker process, opened on first use (after gunicorn forked)."""
    global _database
    if _database is None:
        _database = sqlite3.connect(os.environ["WEB_BENCH_DB"])
    return _database


@app.get("/orders/<int:order_id>")
def order(order_id: int):
    cursor = database().cursor()
    cursor.execute("SELECT id, customer, status, created_at FROM orders WHERE id = ?", (order_id,))
    row = cursor.fetchone()
    if row is None:
        abort(404)
    cursor.execute(
        "SELECT sku, quantity, price_cents FROM order_items WHERE order_id = ? ORDER BY sku", (order_id,)
    )
    items = cursor.fetchall()
    stock = inventory.get(
        os.environ["WEB_BENCH_INVENTORY_URL"],
        params={"skus": ",".join(sku for sku, _, _ in items)},
        timeout=5,
    ).json()
    return jsonify(
        id=row[0],
        customer=row[1],
        status=row[2],
        created_at=row[3],
        items=[
            {"sku": sku, "quantity": quantity, "price_cents": price, "in_stock": stock.get(sku, 0)}
            for sku, quantity, price in items
        ],
        total_cents=sum(quantity * price for _, quantity, price in items),
    )


def create_database(path: str, orders: int) -> None:
    """The data the route reads: ``orders`` orders with three items each."""
    with sqlite3.connect(path) as connection:
        connection.executescript(
            """
            DROP TABLE IF EXISTS orders;
            DROP TABLE IF EXISTS order_items;
            CREATE TABLE orders (id INTEGER PRIMARY KEY, customer TEXT, status TEXT, created_at TEXT);
            CREATE TABLE order_items (order_id INTEGER, sku TEXT, quantity INTEGER, price_cents INTEGER);
            CREATE INDEX order_items_by_order ON order_items (order_id);
            """
        )
        connection.executemany(
            "INSERT INTO orders VALUES (?, ?, ?, ?)",
            [
                (n, f"customer-{n % 97}", "shipped", f"2026-11-{n % 28 + 1:02d}T12:00:00Z")
                for n in range(1, orders + 1)
            ],
        )
        connection.executemany(
            "INSERT INTO order_items VALUES (?, ?, ?, ?)",
            [
                (n, f"sku-{(n * 7 + item) % 500:04d}", item + 1, 199 + (n * item) % 5000)
                for n in range(1, orders + 1)
                for item in range(3)
            ],
        )
