-- Run by mariadbd (--init-file) when a throw-away test server starts: the database and accounts the
-- MySQL client tests and bench-mysql use. Idempotent, so a restarted server can run it again.
CREATE DATABASE IF NOT EXISTS wmtest CHARACTER SET utf8mb4;
CREATE USER IF NOT EXISTS 'wm'@'%' IDENTIFIED VIA mysql_native_password USING PASSWORD('secret');
CREATE USER IF NOT EXISTS 'wm'@'localhost' IDENTIFIED VIA mysql_native_password USING PASSWORD('secret');
GRANT ALL PRIVILEGES ON *.* TO 'wm'@'%' WITH GRANT OPTION;
GRANT ALL PRIVILEGES ON *.* TO 'wm'@'localhost' WITH GRANT OPTION;
CREATE USER IF NOT EXISTS 'nopass'@'%';
GRANT SELECT ON wmtest.* TO 'nopass'@'%';
-- An account on an authentication method the client does not speak (the unknown-plugin test).
INSTALL SONAME 'auth_ed25519';
CREATE USER IF NOT EXISTS 'edwin'@'%' IDENTIFIED VIA ed25519 USING PASSWORD('secret');
FLUSH PRIVILEGES;
