export default function Admin() {
  return <div className="page"><h1>Admin</h1></div>;
}
